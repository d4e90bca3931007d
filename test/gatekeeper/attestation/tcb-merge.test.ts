import { sign } from 'node:crypto';
import { QuoteVerifier } from '@phala/dcap-qvl';
import { describe, expect, it } from 'vitest';
import {
  acceptableTcbStatuses,
  type TcbStatus,
  verifyQuote,
} from '../../../src/gatekeeper/attestation/index.js';
import { FMSPC, makePki } from './test-pki.js';

/**
 * The TCB status merge, end to end (docs/attestation.md#differential-check): a private test PKI
 * (root → TCB signing certificate, the verifier's `trustAnchor`) re-signs TCB info and QE identity
 * for each platform TCB status × QE status, and a real quote from that platform goes through the
 * whole verification. The project converges the statuses as Intel's QVL does; @phala/dcap-qvl,
 * run on the same bytes, takes the more severe of the two. They differ in exactly two of the 21
 * combinations: a platform that only needs configuration, with an OutOfDate QE, is
 * OutOfDateConfigurationNeeded for Intel (both facts kept) and OutOfDate for dcap-qvl (the
 * configuration need dropped, since OutOfDate ranks above it).
 */

const NOW = 1_751_000_000;
const pki = makePki(NOW);
const trustAnchor = pki.root.cert;
const mrEnclave = new Uint8Array(32).fill(0x42);
const quote = pki.quote({ mrEnclave, reportData: new Uint8Array(64).fill(7) });
const policy = {
  allowedMeasurements: [`0x${Buffer.from(mrEnclave).toString('hex')}`],
  acceptTcbStatuses: [...acceptableTcbStatuses],
};

const platformStatuses = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
/** A QE identity level is only ever one of these (Intel's enclave identity schema). */
const qeStatuses = ['UpToDate', 'OutOfDate', 'Revoked'] as const;

/** Intel QVL's convergeTcbStatusWithQeTcbStatus, written out as the table it amounts to. */
const intel: Record<string, TcbStatus> = {};
for (const p of platformStatuses) {
  intel[`${p}/UpToDate`] = p;
  intel[`${p}/Revoked`] = 'Revoked';
}
Object.assign(intel, {
  'UpToDate/OutOfDate': 'OutOfDate',
  'SWHardeningNeeded/OutOfDate': 'OutOfDate',
  'ConfigurationNeeded/OutOfDate': 'OutOfDateConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded/OutOfDate': 'OutOfDateConfigurationNeeded',
  'OutOfDate/OutOfDate': 'OutOfDate',
  'OutOfDateConfigurationNeeded/OutOfDate': 'OutOfDateConfigurationNeeded',
  'Revoked/OutOfDate': 'Revoked',
});
/** The two combinations where dcap-qvl's "more severe wins" gives another status. */
const DIFFERS_FROM_DCAP_QVL: Record<string, TcbStatus> = {
  'ConfigurationNeeded/OutOfDate': 'OutOfDate',
  'ConfigurationAndSWHardeningNeeded/OutOfDate': 'OutOfDate',
};

const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

/** The platform's collateral with one TCB level (the PCK's own TCB) of the given status, re-signed. */
function collateralFor(platform: TcbStatus, qe: (typeof qeStatuses)[number]) {
  const base = pki.collateral({ qeLevels: [{ isvsvn: 8, status: qe }] });
  const advisories = platform === 'UpToDate' ? [] : ['INTEL-SA-00001'];
  const tcbInfo = JSON.stringify({
    id: 'SGX',
    version: 3,
    issueDate: iso(NOW - 3600),
    nextUpdate: iso(NOW + 30 * 86400),
    fmspc: FMSPC.toUpperCase(),
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tcbLevels: [
      {
        // the PCK certificate of test-pki carries CPU SVN 5,5,0... and PCE SVN 13
        tcb: { sgxtcbcomponents: Array.from({ length: 16 }, (_, i) => ({ svn: i < 2 ? 5 : 0 })), pcesvn: 13 },
        tcbDate: iso(NOW - 30 * 86400),
        tcbStatus: platform,
        advisoryIDs: advisories,
      },
    ],
  });
  const signature = sign('sha256', Buffer.from(tcbInfo), {
    key: pki.tcbSigner.key,
    dsaEncoding: 'ieee-p1363',
  });
  return { ...base, tcb_info: tcbInfo, tcb_info_signature: Buffer.from(signature).toString('hex') };
}

function libraryStatus(collateral: ReturnType<typeof collateralFor>): string {
  try {
    return QuoteVerifier.newWithRootCa(Buffer.from(trustAnchor)).verify(quote, collateral, NOW).status;
  } catch (error) {
    const message = (error as Error).message;
    // the library refuses a Revoked merge by throwing; any other refusal is a failure of this test
    if (message === 'TCB status is invalid: Revoked') return 'Revoked';
    throw error;
  }
}

describe('TCB status merge: platform × QE status on re-signed collateral (private test PKI)', () => {
  const combinations = platformStatuses.flatMap((p) => qeStatuses.map((q) => [p, q] as const));
  it('covers all 21 combinations', () => expect(combinations).toHaveLength(21));

  for (const [platform, qe] of combinations) {
    const key = `${platform}/${qe}`;
    const want = intel[key]!;
    const dcapQvl = DIFFERS_FROM_DCAP_QVL[key] ?? want;
    it(`platform ${platform} + QE ${qe} → ${want}${dcapQvl !== want ? ` (dcap-qvl: ${dcapQvl})` : ''}`, () => {
      const collateral = collateralFor(platform, qe);
      const r = verifyQuote(quote, { policy, collateral, at: NOW, trustAnchor });
      expect(r.details.platformTcbStatus).toBe(platform);
      expect(r.details.qeTcbStatus).toBe(qe);
      expect(r.tcbStatus).toBe(want);
      expect(r.reasons.map((x) => x.code)).toEqual(want === 'Revoked' ? ['TcbRevoked'] : []);
      expect(r.ok).toBe(want !== 'Revoked');
      // advisories: the platform level's, then the QE level's (test-pki gives non-UpToDate QE levels one)
      const advisories = [
        ...(platform === 'UpToDate' ? [] : ['INTEL-SA-00001']),
        ...(qe === 'UpToDate' ? [] : ['INTEL-SA-00477']),
      ];
      expect(r.advisoryIds).toEqual(advisories);
      expect(libraryStatus(collateral)).toBe(dcapQvl);
    });
  }

  it('differs from dcap-qvl in exactly the two Configuration* + OutOfDate QE combinations', () => {
    const differing = combinations
      .map(([p, q]) => `${p}/${q}`)
      .filter((key) => {
        const [p, q] = key.split('/') as [TcbStatus, (typeof qeStatuses)[number]];
        return libraryStatus(collateralFor(p, q)) !== intel[key];
      });
    expect(differing).toEqual(Object.keys(DIFFERS_FROM_DCAP_QVL));
  });
});
