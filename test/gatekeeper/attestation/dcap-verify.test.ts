import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Findings, verifyChain } from '../../../src/gatekeeper/attestation/chain.js';
import {
  type AttestationPolicyInput,
  type AttestationResult,
  parseDcapQuote,
  verifyQuote,
} from '../../../src/gatekeeper/attestation/index.js';
import { intelSgxRootCa } from '../../../src/gatekeeper/attestation/root-ca.js';
import { parseCertificate, parseCrl, pemChain } from '../../../src/gatekeeper/attestation/x509.js';
import {
  IN_WINDOW,
  readCollateral,
  readQuote,
  SGX_COLLATERAL,
  SGX_MRENCLAVE,
  SGX_QUOTE,
  sgxDir,
  TDX_COLLATERAL,
  TDX_MRTD,
  TDX_QUOTE,
} from './vectors.js';

const codes = (r: AttestationResult) => r.reasons.map((x) => x.code);
const HELLO = new Uint8Array(64);
HELLO.set(Buffer.from('Hello, world!'));

const sgxPolicy: AttestationPolicyInput = {
  allowedMeasurements: [SGX_MRENCLAVE],
  acceptTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'ConfigurationAndSWHardeningNeeded'],
};
const tdxPolicy: AttestationPolicyInput = { allowedMeasurements: [TDX_MRTD] };

/** Offsets of every section of a quote, from the parser's own sub-arrays. */
function sections(bytes: Uint8Array) {
  const q = parseDcapQuote(bytes);
  const at = (sub: Uint8Array) => sub.byteOffset - bytes.byteOffset;
  const s = q.signatureData;
  const pem = Buffer.from(s.certification.data).toString('latin1');
  return {
    header: 8, // inside QE SVN / PCE SVN, still signed
    userData: at(q.header.userData),
    body: q.body.kind === 'sgx' ? at(q.body.report.mrEnclave) : at(q.body.report.mrTd),
    reportData: at(q.body.report.reportData),
    signature: at(s.signature),
    attestationKey: at(s.attestationKey),
    qeReport: at(s.qeReport.raw) + 320, // QE ISVSVN region (reserved/ISV fields)
    qeReportData: at(s.qeReport.reportData),
    qeReportSignature: at(s.qeReportSignature),
    qeAuthData: at(s.qeAuthData),
    certType: at(s.certification.data) - 6,
    // a base64 character in the middle of the leaf certificate
    leafCert: at(s.certification.data) + pem.indexOf('-----BEGIN CERTIFICATE-----') + 28 + 400,
    // a base64 character inside the last certificate (the root) of the chain
    rootCert: at(s.certification.data) + pem.lastIndexOf('-----BEGIN CERTIFICATE-----') + 28 + 600,
  };
}

function flip(bytes: Uint8Array, offset: number, xor = 0x01): Uint8Array {
  const out = new Uint8Array(bytes);
  out[offset] = out[offset]! ^ xor;
  return out;
}

/** Changes one base64 character to another base64 character, so the PEM still parses as PEM. */
function flipBase64(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[offset] = out[offset] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B'
  return out;
}

/** A SCALE compact length (1-, 2- and 4-byte modes; enough for these fields): [prefix size, value]. */
function compactLength(bytes: Uint8Array): [number, number] {
  const mode = bytes[0]! & 3;
  const size = [1, 2, 4][mode];
  if (size === undefined) throw new Error('big-integer compact length');
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i]!;
  return [size, Math.floor(value / 4)];
}

/** Phala's SgxV30QuoteCollateral (SCALE: nine length-prefixed fields) in the JSON layout. */
function phalaCollateral(): Record<string, string> {
  const bytes = new Uint8Array(
    readFileSync(`${sgxDir}/phala-blockchain__sgx-attestation_sample_dcap_quote_collateral.scale`),
  );
  const names = [
    'pck_crl_issuer_chain',
    'root_ca_crl',
    'pck_crl',
    'tcb_info_issuer_chain',
    'tcb_info',
    'tcb_info_signature',
    'qe_identity_issuer_chain',
    'qe_identity',
    'qe_identity_signature',
  ];
  const out: Record<string, string> = {};
  let pos = 0;
  for (const name of names) {
    const [offset, length] = compactLength(bytes.subarray(pos));
    const value = bytes.subarray(pos + offset, pos + offset + length);
    pos += offset + length;
    out[name] = name.endsWith('_signature')
      ? Buffer.from(value).toString('hex')
      : Buffer.from(value).toString('latin1');
  }
  expect(pos).toBe(bytes.length);
  return out;
}

describe('DCAP verification with collateral (README.txt expectations)', () => {
  // the vectors are read while tests are collected; without them the suite is skipped, not read
  const sgx = readQuote(SGX_QUOTE);
  const tdx = readQuote(TDX_QUOTE);
  const sgxCollateral = readCollateral(SGX_COLLATERAL);
  const tdxCollateral = readCollateral(TDX_COLLATERAL);

  it('SGX v3 sample: ConfigurationAndSWHardeningNeeded with INTEL-SA-00289 and INTEL-SA-00615', () => {
    const r = verifyQuote(sgx, {
      policy: sgxPolicy,
      collateral: sgxCollateral,
      at: IN_WINDOW,
      expectedReportData: HELLO,
    });
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.tee).toBe('sgx');
    expect(r.tcbStatus).toBe('ConfigurationAndSWHardeningNeeded');
    expect(r.advisoryIds).toEqual(['INTEL-SA-00289', 'INTEL-SA-00615']);
    expect(r.measurement).toBe(SGX_MRENCLAVE);
    expect(r.reportData).toBe(`0x${Buffer.from(HELLO).toString('hex')}`);
    expect(r.issuedAt).toBeNull();
    expect(r.details).toMatchObject({
      mrSigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
      isvProdId: 0,
      isvSvn: 0,
      fmspc: '00a067110000',
      qeTcbStatus: 'UpToDate',
      platformTcbStatus: 'ConfigurationAndSWHardeningNeeded',
    });
    // README.txt gives 1750330571 (tcbInfo issueDate) .. 1752919235; the end it names is the TDX
    // collateral's PCK CRL nextUpdate. This collateral's earliest expiry is its QE identity's
    // nextUpdate, 2025-07-19T10:01:18Z.
    expect(r.validFrom).toBe(1750330571);
    expect(r.validUntil).toBe(Date.parse('2025-07-19T10:01:18Z') / 1000);
  });

  it('TDX v4 sample: UpToDate, no advisories, window as in README.txt', () => {
    const r = verifyQuote(tdx, { policy: tdxPolicy, collateral: tdxCollateral, at: IN_WINDOW });
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.tee).toBe('tdx');
    expect(r.tcbStatus).toBe('UpToDate');
    expect(r.advisoryIds).toEqual([]);
    expect(r.measurement).toBe(TDX_MRTD);
    expect(r.details).toMatchObject({
      fmspc: 'b0c06f000000',
      teeTcbSvn: '06010300000000000000000000000000',
    });
    expect([r.validFrom, r.validUntil]).toEqual([1750329147, 1752919235]);
  });

  it("the same SGX quote with phala-blockchain's older (SCALE) collateral gives the same verdict in its window", () => {
    const collateral = phalaCollateral();
    const inWindow = Date.parse('2023-11-22T00:00:00Z') / 1000;
    const r = verifyQuote(sgx, { policy: sgxPolicy, collateral, at: inWindow });
    expect(r.reasons).toEqual([]);
    expect(r.tcbStatus).toBe('ConfigurationAndSWHardeningNeeded');
    expect(r.advisoryIds).toEqual(['INTEL-SA-00289', 'INTEL-SA-00615']);
    // phala's own test uses now=1699301000, before that TCB info was issued (README.txt note):
    // a strict verifier refuses collateral from its future.
    const early = verifyQuote(sgx, { policy: sgxPolicy, collateral, at: 1699301000 });
    expect(early.ok).toBe(false);
    expect(codes(early)).toContain('CollateralNotYetValid');
    expect(
      early.reasons.filter((x) => x.code === 'CollateralNotYetValid').map((x) => x.detail.split(' ')[0]),
    ).toEqual(expect.arrayContaining(['TCB', 'QE']));
  });

  describe('policy', () => {
    it('refuses a status the policy does not accept, still reporting it', () => {
      const r = verifyQuote(sgx, {
        policy: { allowedMeasurements: [SGX_MRENCLAVE] },
        collateral: sgxCollateral,
        at: IN_WINDOW,
      });
      expect(codes(r)).toEqual(['TcbStatusNotAccepted']);
      expect(r.tcbStatus).toBe('ConfigurationAndSWHardeningNeeded');
    });
    it('refuses a measurement that is not on the allowlist (empty list allows none)', () => {
      const r = verifyQuote(tdx, { policy: {}, collateral: tdxCollateral, at: IN_WINDOW });
      expect(codes(r)).toEqual(['MeasurementNotAllowed']);
      const other = verifyQuote(tdx, {
        policy: { allowedMeasurements: [SGX_MRENCLAVE] },
        collateral: tdxCollateral,
        at: IN_WINDOW,
      });
      expect(codes(other)).toEqual(['MeasurementNotAllowed']);
    });
    it('refuses report data that does not bind the expected keys', () => {
      const wrong = new Uint8Array(HELLO);
      wrong[63] = 1;
      const r = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: IN_WINDOW,
        expectedReportData: wrong,
      });
      expect(codes(r)).toEqual(['ReportDataMismatch']);
      const short = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: IN_WINDOW,
        expectedReportData: HELLO.subarray(0, 32),
      });
      expect(codes(short)).toEqual(['ReportDataMismatch']);
    });
    it('refuses collateral of another platform (TDX collateral for the SGX quote)', () => {
      const r = verifyQuote(sgx, { policy: sgxPolicy, collateral: tdxCollateral, at: IN_WINDOW });
      expect(r.ok).toBe(false);
      // the SGX PCK leaf comes from the Processor CA; the TDX collateral's PCK CRL from the Platform CA
      expect(codes(r)).toEqual(expect.arrayContaining(['CrlIssuerMismatch', 'TcbInfoMismatch']));
      expect(r.tcbStatus).toBeNull();
    });
    it('refuses a bad policy as configuration (throws), never as a verdict', () => {
      expect(() => verifyQuote(sgx, { policy: { acceptTcbStatuses: ['Revoked'] as never } })).toThrow(
        /policy/,
      );
      expect(() => verifyQuote(sgx, { policy: { allowedMeasurements: ['xyz'] } })).toThrow(/policy/);
    });
  });

  describe('time travel', () => {
    it('is valid on the first and last second of the window, not one second outside', () => {
      const first = verifyQuote(sgx, { policy: sgxPolicy, collateral: sgxCollateral, at: 1750330571 });
      const last = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: first.validUntil!,
      });
      expect([first.ok, last.ok]).toEqual([true, true]);
      const before = verifyQuote(sgx, { policy: sgxPolicy, collateral: sgxCollateral, at: 1750330570 });
      expect(codes(before)).toEqual(['CollateralNotYetValid']);
      expect(before.reasons[0]!.detail).toMatch(/^TCB info/);
      const after = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: first.validUntil! + 1,
      });
      expect(codes(after)).toEqual(['CollateralExpired']);
      expect(after.reasons[0]!.detail).toMatch(/^QE identity/);
    });
    it('TDX: the PCK CRL expires first', () => {
      const after = verifyQuote(tdx, { policy: tdxPolicy, collateral: tdxCollateral, at: 1752919236 });
      expect(codes(after)).toEqual(['CollateralExpired']);
      expect(after.reasons[0]!.detail).toMatch(/^PCK CRL/);
    });
    it('years later every CRL and collateral has expired, and in 2034 the PCK CA certificate too', () => {
      const r = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: Date.parse('2034-01-01') / 1000,
      });
      expect(r.ok).toBe(false);
      expect(codes(r)).toEqual(expect.arrayContaining(['CollateralExpired', 'CertificateExpired']));
      const expired = r.reasons.filter((x) => x.code === 'CertificateExpired').map((x) => x.detail);
      expect(expired).toContain(
        'PCK certificate chain: Intel SGX PCK Processor CA expired at 2033-05-21T10:50:10.000Z',
      );
      // collateral whose signing chain is not valid at `at` is not trusted for a status at all
      expect(r.tcbStatus).toBeNull();
    });
    it('before the PCK certificate was issued the chain is not yet valid', () => {
      const r = verifyQuote(sgx, {
        policy: sgxPolicy,
        collateral: sgxCollateral,
        at: Date.parse('2023-01-01') / 1000,
      });
      expect(codes(r)).toEqual(expect.arrayContaining(['CertificateNotYetValid', 'CollateralNotYetValid']));
      const early = r.reasons.filter((x) => x.code === 'CertificateNotYetValid').map((x) => x.detail);
      expect(early).toContain(
        'PCK certificate chain: Intel SGX PCK Certificate is not valid before 2023-09-20T21:53:43.000Z',
      );
    });
  });

  describe('every section of the quote, tampered', () => {
    const cases: [string, (q: Uint8Array, s: ReturnType<typeof sections>) => Uint8Array, string[]][] = [
      ['header (QE SVN)', (q, s) => flip(q, s.header), ['BadQuoteSignature']],
      ['header (user data)', (q, s) => flip(q, s.userData), ['BadQuoteSignature']],
      ['header (version 9)', (q) => Object.assign(new Uint8Array(q), { 0: 9 }), ['UnsupportedQuoteVersion']],
      [
        'header (attestation key type 3)',
        (q) => Object.assign(new Uint8Array(q), { 2: 3 }),
        ['UnsupportedAttestationKeyType'],
      ],
      ['header (QE vendor)', (q) => flip(q, 12), ['UnsupportedQeVendor', 'BadQuoteSignature']],
      ['body (measurement)', (q, s) => flip(q, s.body), ['BadQuoteSignature', 'MeasurementNotAllowed']],
      ['body (report data)', (q, s) => flip(q, s.reportData), ['BadQuoteSignature']],
      ['quote signature', (q, s) => flip(q, s.signature + 40), ['BadQuoteSignature']],
      [
        'attestation key',
        (q, s) => flip(q, s.attestationKey + 5),
        ['BadQuoteSignature', 'QeReportDataMismatch'],
      ],
      ['QE report', (q, s) => flip(q, s.qeReport), ['BadQeReportSignature']],
      ['QE report data', (q, s) => flip(q, s.qeReportData), ['QeReportDataMismatch', 'BadQeReportSignature']],
      ['QE report signature', (q, s) => flip(q, s.qeReportSignature + 3), ['BadQeReportSignature']],
      ['QE auth data', (q, s) => flip(q, s.qeAuthData), ['QeReportDataMismatch']],
      ['certification data type', (q, s) => flip(q, s.certType, 0x01), ['UnsupportedCertificationData']],
      ['PCK leaf certificate', (q, s) => flipBase64(q, s.leafCert), ['BadCertificateChain']],
      ['root certificate in the chain', (q, s) => flipBase64(q, s.rootCert), ['UntrustedRoot']],
      ['truncated', (q) => q.subarray(0, 1000), ['Malformed']],
      ['signature data length', (q, s) => flip(q, s.signature - 2, 0x40), ['Malformed']],
    ];
    for (const [quoteName, quote, collateral, policy] of [
      ['SGX', SGX_QUOTE, SGX_COLLATERAL, sgxPolicy],
      ['TDX', TDX_QUOTE, TDX_COLLATERAL, tdxPolicy],
    ] as const) {
      const bytes = readQuote(quote);
      const coll = readCollateral(collateral);
      const s = sections(bytes);
      for (const [section, tamper, expected] of cases) {
        it(`${quoteName}: ${section}`, () => {
          const r = verifyQuote(tamper(bytes, s), { policy, collateral: coll, at: IN_WINDOW });
          expect(r.ok).toBe(false);
          expect(codes(r)).toEqual(expect.arrayContaining(expected));
        });
      }
      it(`${quoteName}: unchanged passes (the tampering above is what fails)`, () => {
        expect(verifyQuote(bytes, { policy, collateral: coll, at: IN_WINDOW }).ok).toBe(true);
      });
    }
  });

  describe('every collateral field, tampered', () => {
    const mutateHex = (h: string, at: number) =>
      h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
    const cases: [string, (c: Record<string, string>) => Record<string, string>, string[]][] = [
      [
        'TCB info text',
        (c) => ({
          ...c,
          tcb_info: c.tcb_info!.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18'),
        }),
        ['BadCollateralSignature'],
      ],
      [
        'TCB info status (downgrade attack)',
        (c) => ({
          ...c,
          tcb_info: c.tcb_info!.replaceAll('ConfigurationAndSWHardeningNeeded', 'UpToDate'),
        }),
        ['BadCollateralSignature'],
      ],
      [
        'TCB info signature',
        (c) => ({ ...c, tcb_info_signature: mutateHex(c.tcb_info_signature!, 10) }),
        ['BadCollateralSignature'],
      ],
      [
        'QE identity text',
        (c) => ({ ...c, qe_identity: c.qe_identity!.replace('"isvprodid":', ' "isvprodid":') }),
        ['BadCollateralSignature'],
      ],
      [
        'QE identity signature',
        (c) => ({ ...c, qe_identity_signature: mutateHex(c.qe_identity_signature!, 70) }),
        ['BadCollateralSignature'],
      ],
      [
        'root CA CRL signature',
        (c) => ({ ...c, root_ca_crl: mutateHex(c.root_ca_crl!, c.root_ca_crl!.length - 10) }),
        ['BadCollateralSignature'],
      ],
      [
        'root CA CRL structure',
        (c) => ({ ...c, root_ca_crl: `ff${c.root_ca_crl!.slice(2)}` }),
        ['MalformedCollateral'],
      ],
      [
        'PCK CRL signature',
        (c) => ({ ...c, pck_crl: mutateHex(c.pck_crl!, c.pck_crl!.length - 12) }),
        ['BadCollateralSignature'],
      ],
      [
        'PCK CRL issuer chain',
        (c) => ({ ...c, pck_crl_issuer_chain: c.tcb_info_issuer_chain! }),
        ['CrlIssuerMismatch'],
      ],
      [
        'TCB info issuer chain (not the TCB signing key)',
        (c) => ({ ...c, tcb_info_issuer_chain: c.pck_crl_issuer_chain! }),
        ['BadCollateralSignature'],
      ],
      [
        'QE identity issuer chain (garbage)',
        (c) => ({ ...c, qe_identity_issuer_chain: 'not a PEM' }),
        ['MalformedCollateral'],
      ],
      [
        'a field missing',
        (c) => ({ ...c, qe_identity: undefined as unknown as string }),
        ['MalformedCollateral'],
      ],
    ];
    const bytes = readQuote(SGX_QUOTE);
    const coll = readCollateral(SGX_COLLATERAL);
    for (const [field, tamper, expected] of cases) {
      it(field, () => {
        const r = verifyQuote(bytes, { policy: sgxPolicy, collateral: tamper(coll), at: IN_WINDOW });
        expect(r.ok).toBe(false);
        expect(codes(r)).toEqual(expect.arrayContaining(expected));
        if (expected.includes('BadCollateralSignature') && field.startsWith('TCB info'))
          expect(r.tcbStatus).toBeNull();
      });
    }
    it('collateral that is not an object', () => {
      for (const c of ['{}', 42, [], { root_ca_crl: 'zz' }]) {
        const r = verifyQuote(bytes, { policy: sgxPolicy, collateral: c, at: IN_WINDOW });
        expect(codes(r)).toContain('MalformedCollateral');
      }
    });
  });

  describe('revocation', () => {
    it('a PCK certificate listed in the PCK CRL is Revoked (the real CRL, with one more serial)', () => {
      const coll = readCollateral(TDX_COLLATERAL);
      const crl = parseCrl(new Uint8Array(Buffer.from(coll.pck_crl!, 'hex')));
      const rootCrl = parseCrl(new Uint8Array(Buffer.from(coll.root_ca_crl!, 'hex')));
      expect(crl.revokedSerials.size).toBe(44);
      const q = parseDcapQuote(readQuote(TDX_QUOTE));
      const chain = pemChain(Buffer.from(q.signatureData.certification.data).toString('latin1')).map(
        parseCertificate,
      );
      expect(crl.revokedSerials.has(chain[0]!.serial)).toBe(false);
      const root = intelSgxRootCa();
      const clean = new Findings(IN_WINDOW);
      expect(
        verifyChain(chain, {
          what: 'PCK',
          root,
          findings: clean,
          crls: [rootCrl, crl],
          linkCode: 'BadCertificateChain',
        }),
      ).toBe(true);
      // the verifier checks revocation by serial after the CRL's signature was verified; add the
      // leaf's serial to the parsed list, as a newer CRL from Intel would
      crl.revokedSerials.add(chain[0]!.serial);
      const findings = new Findings(IN_WINDOW);
      expect(
        verifyChain(chain, {
          what: 'PCK',
          root,
          findings,
          crls: [rootCrl, crl],
          linkCode: 'BadCertificateChain',
        }),
      ).toBe(false);
      expect(findings.reasons.map((x) => x.code)).toEqual(['Revoked']);
      // and an intermediate listed in the root CA CRL
      rootCrl.revokedSerials.add(chain[1]!.serial);
      const again = new Findings(IN_WINDOW);
      verifyChain(chain, {
        what: 'PCK',
        root,
        findings: again,
        crls: [rootCrl, crl],
        linkCode: 'BadCertificateChain',
      });
      expect(again.reasons.map((x) => x.detail)).toEqual([
        'PCK: Intel SGX PCK Certificate is revoked',
        'PCK: Intel SGX PCK Platform CA is revoked',
      ]);
    });
    it('a chain that ends below the root is completed with the pinned root; one to another root is not', () => {
      const q = parseDcapQuote(readQuote(SGX_QUOTE));
      const chain = pemChain(Buffer.from(q.signatureData.certification.data).toString('latin1')).map(
        parseCertificate,
      );
      const root = intelSgxRootCa();
      const f = new Findings(IN_WINDOW);
      expect(
        verifyChain(chain.slice(0, 2), {
          what: 'PCK',
          root,
          findings: f,
          crls: null,
          linkCode: 'BadCertificateChain',
        }),
      ).toBe(true);
      const g = new Findings(IN_WINDOW);
      // leaf alone: its issuer is the PCK CA, not the root
      expect(
        verifyChain(chain.slice(0, 1), {
          what: 'PCK',
          root,
          findings: g,
          crls: null,
          linkCode: 'BadCertificateChain',
        }),
      ).toBe(false);
      expect(g.reasons.map((x) => x.code)).toEqual(['UntrustedRoot']);
    });
  });
});
