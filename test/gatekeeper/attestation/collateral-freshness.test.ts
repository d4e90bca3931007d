import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../../src/crypto/keys.js';
import { encodeAttestationBundle } from '../../../src/gatekeeper/approvals/attestation-bundle.js';
import { judgeCandidate } from '../../../src/gatekeeper/approvals/judge.js';
import { chooseCollateral, parseAttestationPolicy } from '../../../src/gatekeeper/attestation/index.js';
import {
  IN_WINDOW,
  SGX_COLLATERAL,
  SGX_MRENCLAVE,
  SGX_QUOTE,
  TDX_COLLATERAL,
  readCollateral,
  readQuote,
} from './vectors.js';

/**
 * Collateral freshness (docs/attestation.md#collateral-freshness) with the real sample collateral
 * (TCB evaluation data number 17): the gatekeeper's own wins, a bundle older than it is refused
 * (StaleCollateral), a newer bundle is used and still has to verify.
 */
type Collateral = Record<string, string>;
/** The collateral with its TCB info / QE identity JSON edited (their signatures no longer verify). */
function edited(c: Collateral, tcb: Record<string, unknown>, qe: Record<string, unknown> = {}): Collateral {
  return {
    ...c,
    tcb_info: JSON.stringify({ ...JSON.parse(c.tcb_info!), ...tcb }),
    qe_identity: JSON.stringify({ ...JSON.parse(c.qe_identity!), ...qe }),
  };
}

describe('collateral freshness', () => {
  const sgx = readCollateral(SGX_COLLATERAL);
  const tdx = readCollateral(TDX_COLLATERAL);
  const worker = generateIdentity();
  const policy = parseAttestationPolicy({
    acceptTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'ConfigurationAndSWHardeningNeeded'],
  });
  const judge = (own: unknown, bundled: unknown) =>
    judgeCandidate({
      candidate: {
        secp256k1: worker.signing.publicKey,
        x25519: worker.encryption.publicKey,
        cluster: new Uint8Array(32),
        attestation: encodeAttestationBundle(readQuote(SGX_QUOTE), bundled),
      },
      policy,
      allowedMeasurements: [SGX_MRENCLAVE as `0x${string}`],
      at: IN_WINDOW,
      now: IN_WINDOW,
      registrationTtlSeconds: 3600,
      collateral: own,
    });
  const codes = (j: ReturnType<typeof judge>) => (j.ok ? [] : j.reasons.map((r) => r.code));

  it('only one side has collateral: that one', () => {
    expect(chooseCollateral(undefined, undefined)).toEqual({
      ok: true,
      collateral: undefined,
      source: 'none',
    });
    expect(chooseCollateral(sgx, undefined)).toMatchObject({ ok: true, source: 'gatekeeper' });
    expect(chooseCollateral(undefined, sgx)).toMatchObject({ ok: true, source: 'bundle' });
  });

  it("the gatekeeper's own wins over an equally fresh bundle of the same platform", () => {
    const choice = chooseCollateral(sgx, { ...sgx });
    expect(choice).toMatchObject({ ok: true, source: 'gatekeeper' });
    if (choice.ok) expect(choice.collateral).toBe(sgx);
    // End to end the sample verifies (its report data binds no worker keys: the only reason left).
    expect(codes(judge(sgx, sgx))).toEqual(['ReportDataMismatch']);
  });

  it('a bundle with a lower TCB evaluation data number than the gatekeeper has is StaleCollateral', () => {
    const older = edited(sgx, { tcbEvaluationDataNumber: 16 });
    const choice = chooseCollateral(sgx, older);
    expect(choice).toMatchObject({ ok: false, reason: { code: 'StaleCollateral' } });
    const j = judge(sgx, older);
    expect(codes(j)).toEqual(['StaleCollateral']);
    expect(j.ok ? '' : j.reason).toMatch(/^StaleCollateral: .*16.*17/);
    // The QE identity's number counts too.
    expect(chooseCollateral(sgx, edited(sgx, {}, { tcbEvaluationDataNumber: 15 }))).toMatchObject({
      ok: false,
      reason: { code: 'StaleCollateral' },
    });
  });

  it('a bundle of the same number issued before the gatekeeper’s (same FMSPC) is StaleCollateral', () => {
    const issue = JSON.parse(sgx.tcb_info!).issueDate as string;
    const earlier = edited(sgx, { issueDate: '2025-06-01T00:00:00Z' });
    expect(Date.parse(issue)).toBeGreaterThan(Date.parse('2025-06-01T00:00:00Z'));
    expect(codes(judge(sgx, earlier))).toEqual(['StaleCollateral']);
  });

  it('a newer bundle is used, and a forged date gains nothing: it must verify', () => {
    const newer = edited(sgx, { tcbEvaluationDataNumber: 18 }, { tcbEvaluationDataNumber: 18 });
    expect(chooseCollateral(sgx, newer)).toMatchObject({ ok: true, source: 'bundle' });
    expect(codes(judge(sgx, newer))).toContain('BadCollateralSignature');
    // The gatekeeper's own older than a genuine bundle: the bundle is used and verifies.
    const ownOlder = edited(sgx, { tcbEvaluationDataNumber: 16 });
    expect(chooseCollateral(ownOlder, sgx)).toMatchObject({ ok: true, source: 'bundle' });
    expect(codes(judge(ownOlder, sgx))).toEqual(['ReportDataMismatch']);
  });

  it("the gatekeeper's collateral of another platform (FMSPC) does not replace the bundle's, but still bounds its age", () => {
    expect(JSON.parse(tdx.tcb_info!).fmspc).not.toBe(JSON.parse(sgx.tcb_info!).fmspc);
    expect(chooseCollateral(tdx, sgx)).toMatchObject({ ok: true, source: 'bundle' });
    expect(codes(judge(tdx, sgx))).toEqual(['ReportDataMismatch']);
    const newerOther = edited(tdx, { tcbEvaluationDataNumber: 18 }, { tcbEvaluationDataNumber: 18 });
    expect(codes(judge(newerOther, sgx))).toEqual(['StaleCollateral']);
  });

  it('a bundle without dates to order it by is MalformedCollateral when the gatekeeper has its own', () => {
    expect(codes(judge(sgx, { tcb_info: 'x' }))).toEqual(['MalformedCollateral']);
    expect(codes(judge(sgx, edited(sgx, { issueDate: 'yesterday' })))).toEqual(['MalformedCollateral']);
  });
});
