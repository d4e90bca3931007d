import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/base/bytes.js';
import {
  type AttestationPolicyInput,
  type AttestationResult,
  verifyQuote,
} from '../../../src/gatekeeper/attestation/index.js';
import { makePki } from './test-pki.js';

const NOW = 1_800_000_000;
const pki = makePki(NOW);
const mrEnclave = new Uint8Array(32).fill(0x42);
const reportData = new Uint8Array(64).fill(0x24);
const quote = pki.quote({ mrEnclave, reportData });
const policy: AttestationPolicyInput = {
  allowedMeasurements: [toHex(mrEnclave)],
  acceptTcbStatuses: ['UpToDate', 'SWHardeningNeeded'],
};
const trustAnchor = pki.root.cert;
const codes = (r: AttestationResult) => r.reasons.map((x) => x.code);

describe('DCAP end to end on a synthetic PKI (a stand-in: Intel keys cannot sign here)', () => {
  it('a quote and collateral of the stand-in PKI verify under its root: SWHardeningNeeded', () => {
    const r = verifyQuote(quote, {
      policy,
      collateral: pki.collateral(),
      at: NOW,
      trustAnchor,
      expectedReportData: reportData,
    });
    expect(r.reasons).toEqual([]);
    expect(r).toMatchObject({
      ok: true,
      tee: 'sgx',
      tcbStatus: 'SWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00615'],
    });
    expect(r.validUntil).toBe(NOW + 7 * 86400); // the PCK CRL's nextUpdate
  });

  it("under Intel's pinned root the same quote is UntrustedRoot (every chain; the root CRL is not Intel's)", () => {
    const r = verifyQuote(quote, { policy, collateral: pki.collateral(), at: NOW });
    expect(r.ok).toBe(false);
    expect(new Set(codes(r))).toEqual(new Set(['UntrustedRoot', 'CrlIssuerMismatch']));
    expect(r.reasons.filter((x) => x.code === 'UntrustedRoot').map((x) => x.detail.split(':')[0])).toEqual([
      'PCK CRL issuer chain',
      'TCB info issuer chain',
      'QE identity issuer chain',
      'PCK certificate chain',
    ]);
    expect(r.tcbStatus).toBeNull();
  });

  it('a quote from another PKI whose root is self-signed is UntrustedRoot under this trust anchor', () => {
    const other = makePki(NOW, { rootCn: 'Test SGX Root CA' }); // same name, other key
    const q = other.quote({ mrEnclave, reportData });
    const r = verifyQuote(q, { policy, collateral: pki.collateral(), at: NOW, trustAnchor });
    expect(codes(r)).toContain('UntrustedRoot');
    expect(r.ok).toBe(false);
  });

  it('a PCK certificate listed in a signed PCK CRL is Revoked', () => {
    const r = verifyQuote(quote, {
      policy,
      collateral: pki.collateral({ revoked: [7, pki.leaf.serial] }),
      at: NOW,
      trustAnchor,
    });
    expect(codes(r)).toEqual(['Revoked']);
    expect(r.reasons[0]!.detail).toBe('PCK certificate chain: Test SGX PCK Certificate is revoked');
  });

  it('an out-of-date QE converges SWHardeningNeeded to OutOfDate; a revoked QE revokes', () => {
    const outdated = verifyQuote(quote, {
      policy: { ...policy, acceptTcbStatuses: ['OutOfDate'] },
      collateral: pki.collateral({
        qeLevels: [
          { isvsvn: 12, status: 'UpToDate' },
          { isvsvn: 8, status: 'OutOfDate' },
        ],
      }),
      at: NOW,
      trustAnchor,
    });
    expect(outdated).toMatchObject({
      ok: true,
      tcbStatus: 'OutOfDate',
      advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00477'],
    });
    const revoked = verifyQuote(quote, {
      policy: { ...policy, acceptTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'OutOfDate'] },
      collateral: pki.collateral({
        qeLevels: [
          { isvsvn: 12, status: 'UpToDate' },
          { isvsvn: 8, status: 'Revoked' },
        ],
      }),
      at: NOW,
      trustAnchor,
    });
    expect(revoked.tcbStatus).toBe('Revoked');
    expect(codes(revoked)).toEqual(['TcbRevoked']);
  });

  it('a debug enclave is refused unless the policy allows debug', () => {
    const debug = pki.quote({ mrEnclave, reportData, attributes: 0x07 });
    expect(codes(verifyQuote(debug, { policy, collateral: pki.collateral(), at: NOW, trustAnchor }))).toEqual(
      ['DebugEnclave'],
    );
    expect(
      verifyQuote(debug, {
        policy: { ...policy, allowDebug: true },
        collateral: pki.collateral(),
        at: NOW,
        trustAnchor,
      }).ok,
    ).toBe(true);
  });

  it('time travel: the PCK CRL goes stale after a week, the PCK certificate after a year', () => {
    const collateral = pki.collateral();
    const week = verifyQuote(quote, { policy, collateral, at: NOW + 7 * 86400 + 1, trustAnchor });
    expect(codes(week)).toEqual(['CollateralExpired']);
    const year = verifyQuote(quote, { policy, collateral, at: NOW + 366 * 86400, trustAnchor });
    expect(codes(year)).toEqual(expect.arrayContaining(['CertificateExpired', 'CollateralExpired']));
    expect(year.reasons.find((x) => x.code === 'CertificateExpired')!.detail).toMatch(
      /Test SGX PCK Certificate/,
    );
  });
});
