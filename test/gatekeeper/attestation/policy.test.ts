import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../../src/base/bytes.js';
import { sha256 } from '../../../src/crypto/hash.js';
import { signSimQuote } from '../../../src/crypto/sim-quote.js';
import {
  type AttestationPolicyInput,
  type AttestationResult,
  type MeasurementRuleInput,
  measuredOf,
  measurementIdOf,
  measurementRuleSchema,
  parseAttestationPolicy,
  ruleId,
  ruleMismatches,
  verifyQuote,
} from '../../../src/gatekeeper/attestation/index.js';
import {
  IN_WINDOW,
  SGX_COLLATERAL,
  SGX_MRENCLAVE,
  SGX_QUOTE,
  TDX_COLLATERAL,
  TDX_MRTD,
  TDX_QUOTE,
  readCollateral,
  readParsed,
  readQuote,
} from './vectors.js';

/**
 * The measurement policy (docs/attestation.md#measurement-policy) on the real sample quotes of
 * test/vectors/sgx: every field of a TDX rule (MRTD, RTMR0–3, MRCONFIGID, MROWNER, MROWNERCONFIG)
 * and of an SGX rule (MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN, KSS CONFIGID/CONFIGSVN) and the
 * minimum TCB evaluation data number, each accepted with the quote's real value and refused with
 * another, under its own reason.
 */
const codes = (r: AttestationResult) => r.reasons.map((x) => x.code);
const statuses: AttestationPolicyInput['acceptTcbStatuses'] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
];
const flip = (h: string): Hex => {
  const b = fromHex(h.startsWith('0x') ? h : `0x${h}`);
  b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 1;
  return toHex(b);
};

describe('measurement policy on real quotes', () => {
  const tdxQuote = readQuote(TDX_QUOTE);
  const tdxCollateral = readCollateral(TDX_COLLATERAL);
  const sgxQuote = readQuote(SGX_QUOTE);
  const sgxCollateral = readCollateral(SGX_COLLATERAL);
  const tdxReport = readParsed(TDX_QUOTE).report;
  const sgxReport = readParsed(SGX_QUOTE).report;
  const verify = (
    quote: Uint8Array,
    collateral: unknown,
    policy: Omit<AttestationPolicyInput, 'acceptTcbStatuses'>,
  ) => verifyQuote(quote, { policy: { acceptTcbStatuses: statuses, ...policy }, collateral, at: IN_WINDOW });
  const tdx = (policy: Omit<AttestationPolicyInput, 'acceptTcbStatuses'>) =>
    verify(tdxQuote, tdxCollateral, policy);
  const sgx = (policy: Omit<AttestationPolicyInput, 'acceptTcbStatuses'>) =>
    verify(sgxQuote, sgxCollateral, policy);
  /** Admits the quote only through the rule: the allowlist names the rule's id alone. */
  const byRule = (run: typeof tdx, rule: MeasurementRuleInput) => {
    const parsed = measurementRuleSchema.parse(rule);
    return run({ allowedMeasurements: [ruleId(parsed)], measurementRules: [rule] });
  };

  const realTdxRule = {
    tee: 'tdx',
    mrTd: `0x${tdxReport.mr_td}`,
    rtmr0: `0x${tdxReport.rt_mr0}`,
    rtmr1: `0x${tdxReport.rt_mr1}`,
    rtmr2: `0x${tdxReport.rt_mr2}`,
    rtmr3: `0x${tdxReport.rt_mr3}`,
  } as const;

  describe('TDX: MRTD + RTMR0–3 (+ MRCONFIGID / MROWNER / MROWNERCONFIG where set)', () => {
    it("the quote's id covers the whole measured tuple: sha256(MRTD) alone no longer admits it", () => {
      const r = tdx({ allowedMeasurements: [] });
      const measured = measuredOf(r);
      expect(measured).toMatchObject({
        tee: 'tdx',
        mrTd: TDX_MRTD,
        rtmr1: `0x${tdxReport.rt_mr1}`,
        rtmr3: `0x${tdxReport.rt_mr3}`,
      });
      const id = measurementIdOf(measured!);
      expect(r.measurementId).toBe(id);
      expect(id).toMatch(/^0x[0-9a-f]{64}$/);
      // The id is the exact rule's: MRTD, RTMR0–3 and the three config fields, all pinned.
      expect(id).toBe(
        ruleId(
          measurementRuleSchema.parse({
            ...realTdxRule,
            mrConfigId: `0x${tdxReport.mr_config_id}`,
            mrOwner: `0x${tdxReport.mr_owner}`,
            mrOwnerConfig: `0x${tdxReport.mr_owner_config}`,
          }),
        ),
      );
      expect(codes(tdx({ allowedMeasurements: [id] }))).toEqual([]);
      expect(codes(tdx({ allowedMeasurements: [toHex(sha256(fromHex(TDX_MRTD)))] }))).toEqual([
        'MeasurementNotAllowed',
      ]);
      // The same verdict and id again: nothing but the quote goes into it.
      expect(tdx({ allowedMeasurements: [id] }).measurementId).toBe(id);
    });

    it('a rule with the real MRTD and RTMR0–3 admits it; a rule for another MRTD does not concern it', () => {
      expect(codes(byRule(tdx, realTdxRule))).toEqual([]);
      const r = byRule(tdx, realTdxRule);
      expect(r.measurementId).toBe(ruleId(measurementRuleSchema.parse(realTdxRule)));
      // A rule for another firmware does not concern this TD: plain MeasurementNotAllowed.
      expect(codes(byRule(tdx, { ...realTdxRule, mrTd: flip(realTdxRule.mrTd) }))).toEqual([
        'MeasurementNotAllowed',
      ]);
    });

    for (const i of [0, 1, 2, 3] as const) {
      it(`RTMR${i} other than the rule's is RtmrMismatch`, () => {
        const key = `rtmr${i}` as const;
        const r = byRule(tdx, { ...realTdxRule, [key]: flip(realTdxRule[key]) });
        expect(codes(r)).toEqual(['RtmrMismatch']);
        expect(r.reasons[0]?.detail).toContain(`RTMR${i}`);
      });
    }

    for (const [field, parsedField, code] of [
      ['mrConfigId', 'mr_config_id', 'MrConfigIdMismatch'],
      ['mrOwner', 'mr_owner', 'MrOwnerMismatch'],
      ['mrOwnerConfig', 'mr_owner_config', 'MrOwnerConfigMismatch'],
    ] as const) {
      it(`${field}: compared where the rule sets it (${code})`, () => {
        const real = `0x${tdxReport[parsedField]}`;
        const withReal = { ...realTdxRule, [field]: real };
        expect(codes(byRule(tdx, withReal))).toEqual([]);
        // Setting a field changes the rule's id: an allowlist entry pins what its rule sets.
        expect(ruleId(measurementRuleSchema.parse(withReal))).not.toBe(
          ruleId(measurementRuleSchema.parse(realTdxRule)),
        );
        expect(codes(byRule(tdx, { ...realTdxRule, [field]: flip(real) }))).toEqual([code]);
      });
    }
  });

  describe('SGX: MRENCLAVE and/or MRSIGNER + ISVPRODID + minimum ISVSVN + KSS CONFIGID/CONFIGSVN', () => {
    const mrSigner = `0x${sgxReport.mr_signer}` as Hex;

    it('MRENCLAVE is its own id (as on Phala), and an MRENCLAVE-only rule', () => {
      const r = sgx({ allowedMeasurements: [SGX_MRENCLAVE] });
      expect(codes(r)).toEqual([]);
      expect(r.measurementId).toBe(SGX_MRENCLAVE);
      expect(measuredOf(r)).toMatchObject({ tee: 'sgx', mrSigner, isvProdId: 0, isvSvn: 0, configSvn: 0 });
      expect(codes(sgx({ allowedMeasurements: [flip(SGX_MRENCLAVE)] }))).toEqual(['MeasurementNotAllowed']);
    });

    it('MRSIGNER + ISVPRODID + minimum ISVSVN: accepted at the real values, IsvSvnTooLow / IsvProdIdMismatch / MrSignerMismatch', () => {
      const rule = { tee: 'sgx', mrSigner, isvProdId: 0, minIsvSvn: 0 } as const;
      const ok = byRule(sgx, rule);
      expect(codes(ok)).toEqual([]);
      expect(ok.measurementId).toBe(ruleId(measurementRuleSchema.parse(rule)));
      expect(ok.measurementId).not.toBe(SGX_MRENCLAVE);
      expect(codes(byRule(sgx, { ...rule, minIsvSvn: 1 }))).toEqual(['IsvSvnTooLow']);
      expect(codes(byRule(sgx, { ...rule, isvProdId: 1 }))).toEqual(['IsvProdIdMismatch']);
      // With MRENCLAVE set, the rule concerns this enclave and names the signer that differs.
      expect(
        codes(byRule(sgx, { tee: 'sgx', mrEnclave: SGX_MRENCLAVE, mrSigner: flip(mrSigner), isvProdId: 0 })),
      ).toEqual(['MrSignerMismatch']);
      expect(
        codes(byRule(sgx, { tee: 'sgx', mrEnclave: flip(SGX_MRENCLAVE), mrSigner, isvProdId: 0 })),
      ).toEqual(['MeasurementNotAllowed']);
    });

    it('KSS: CONFIGID compared where set (ConfigIdMismatch), minimum CONFIGSVN (ConfigSvnTooLow)', () => {
      const zeros = toHex(new Uint8Array(64));
      expect(
        codes(byRule(sgx, { tee: 'sgx', mrEnclave: SGX_MRENCLAVE, configId: zeros, minConfigSvn: 0 })),
      ).toEqual([]);
      expect(codes(byRule(sgx, { tee: 'sgx', mrEnclave: SGX_MRENCLAVE, configId: flip(zeros) }))).toEqual([
        'ConfigIdMismatch',
      ]);
      expect(codes(byRule(sgx, { tee: 'sgx', mrEnclave: SGX_MRENCLAVE, minConfigSvn: 1 }))).toEqual([
        'ConfigSvnTooLow',
      ]);
    });

    it('a rule the quote matches but the allowlist does not name admits nothing', () => {
      const rule = { tee: 'sgx', mrSigner, isvProdId: 0 } as const;
      const r = sgx({ allowedMeasurements: [], measurementRules: [rule] });
      expect(codes(r)).toEqual(['MeasurementNotAllowed']);
      expect(r.reasons[0]?.detail).toContain(ruleId(measurementRuleSchema.parse(rule)));
    });
  });

  it('minimum TCB evaluation data number (both samples carry 17): TcbEvaluationTooOld above it', () => {
    for (const run of [sgx, tdx]) {
      const allowed = [run === sgx ? SGX_MRENCLAVE : (tdx({}).measurementId as Hex)];
      const ok = run({ allowedMeasurements: allowed, minTcbEvaluationDataNumber: 17 });
      expect(codes(ok)).toEqual([]);
      expect(ok.details.tcbEvaluationDataNumber).toBe(17);
      const old = run({ allowedMeasurements: allowed, minTcbEvaluationDataNumber: 18 });
      expect(codes(old)).toEqual(['TcbEvaluationTooOld']);
      expect(old.reasons[0]?.detail).toContain('17');
    }
  });

  it('ruleMismatches names a different MRTD / MRENCLAVE, and a rule for another TEE', () => {
    const td = measuredOf(tdx({}))!;
    const enclave = measuredOf(sgx({}))!;
    const mismatch = (rule: MeasurementRuleInput, m: typeof td) =>
      ruleMismatches(measurementRuleSchema.parse(rule), m).map((r) => r.code);
    expect(mismatch({ ...realTdxRule, mrTd: flip(realTdxRule.mrTd) }, td)).toEqual(['MrTdMismatch']);
    expect(mismatch({ tee: 'sgx', mrEnclave: flip(SGX_MRENCLAVE) }, enclave)).toEqual(['MrEnclaveMismatch']);
    expect(mismatch(realTdxRule, enclave)).toEqual(['MeasurementNotAllowed']);
    expect(mismatch(realTdxRule, td)).toEqual([]);
  });

  it('a bad rule in the policy is refused, naming the field', () => {
    expect(() =>
      parseAttestationPolicy({
        measurementRules: [{ tee: 'sgx', mrSigner: SGX_MRENCLAVE } as MeasurementRuleInput],
      }),
    ).toThrow(/isvProdId/);
    expect(() => parseAttestationPolicy({ measurementRules: [{ ...realTdxRule, rtmr2: '0x1234' }] })).toThrow(
      /measurementRules/,
    );
  });
});

describe('sim: the devnet measurement keeps working', () => {
  it('a sim quote is named by its measurement, as a sim rule', () => {
    const ca = ed25519.utils.randomSecretKey();
    const measurement = new Uint8Array(32).fill(9);
    const quote = signSimQuote(
      {
        measurement,
        reportData: new Uint8Array(64),
        issuedAt: 1_800_000_000n,
        platformId: new Uint8Array(32),
      },
      ca,
    );
    const policy = {
      mode: 'development' as const,
      simPlatformCas: [toHex(ed25519.getPublicKey(ca))],
      allowedMeasurements: [toHex(measurement)],
    };
    const r = verifyQuote(quote, { policy, at: 1_800_000_000 });
    expect(codes(r)).toEqual([]);
    expect(r.measurementId).toBe(toHex(measurement));
    expect(ruleId(measurementRuleSchema.parse({ tee: 'sim', measurement: toHex(measurement) }))).toBe(
      toHex(measurement),
    );
    expect(
      codes(verifyQuote(quote, { policy: { ...policy, allowedMeasurements: [] }, at: 1_800_000_000 })),
    ).toEqual(['MeasurementNotAllowed']);
  });
});
