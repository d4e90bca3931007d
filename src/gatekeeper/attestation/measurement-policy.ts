import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { measurementRuleId } from '../../crypto/measurement-id.js';
import type { MeasurementRule, SgxRule, TdxRule } from './measurement-rule.js';
import type { AttestationReason, AttestationResult } from './types.js';

/**
 * The measurement policy (docs/attestation.md#measurement-policy): which measured identities a
 * gatekeeper admits, and the 32-byte id under which the chain's allowlist (and an approval, and
 * the EVM registration) names them.
 *
 * - Every quote has an exact rule, all its measured fields pinned: TDX MRTD, RTMR0–3, MRCONFIGID,
 *   MROWNER, MROWNERCONFIG; SGX MRENCLAVE (+ KSS CONFIGID/CONFIGSVN when launched with one); the sim
 *   measurement. Its id depends on the quote alone, so every gatekeeper computes the same one.
 * - A configured rule may leave fields out (SGX by MRSIGNER + ISVPRODID + minimum ISVSVN); the
 *   allowlist then names the rule's id, and gatekeepers admit with the same config.
 *
 * Ids: a sim rule's is its measurement and an MRENCLAVE-only SGX rule's is MRENCLAVE (Phala's
 * allowlist form); every other rule's is `measurementRuleId` (src/crypto/measurement-id.ts) over its
 * fields in order (u16 fields big-endian).
 */
export type Measured =
  | { tee: 'sim'; measurement: Hex }
  | {
      tee: 'sgx';
      mrEnclave: Hex;
      mrSigner: Hex;
      isvProdId: number;
      isvSvn: number;
      configId: Hex;
      configSvn: number;
    }
  | {
      tee: 'tdx';
      mrTd: Hex;
      rtmr0: Hex;
      rtmr1: Hex;
      rtmr2: Hex;
      rtmr3: Hex;
      mrConfigId: Hex;
      mrOwner: Hex;
      mrOwnerConfig: Hex;
    };

const hexField = (value: Hex | undefined) => (value === undefined ? undefined : fromHex(value));
const u16Field = (value: number | undefined) =>
  value === undefined ? undefined : Uint8Array.of(value >> 8, value & 0xff);
const isZero = (h: Hex) => /^0x0*$/.test(h);

/** The id the chain's allowlist names a rule by (32 bytes, lower-case hex). */
export function ruleId(rule: MeasurementRule): Hex {
  if (rule.tee === 'sim') return rule.measurement;
  if (rule.tee === 'sgx') {
    const only = Object.entries(rule).filter(([k, v]) => k !== 'tee' && v !== undefined);
    if (only.length === 1 && rule.mrEnclave) return rule.mrEnclave;
    return toHex(
      measurementRuleId('sgx', [
        hexField(rule.mrEnclave),
        hexField(rule.mrSigner),
        u16Field(rule.isvProdId),
        u16Field(rule.minIsvSvn),
        hexField(rule.configId),
        u16Field(rule.minConfigSvn),
      ]),
    );
  }
  return toHex(
    measurementRuleId(
      'tdx',
      [
        rule.mrTd,
        rule.rtmr0,
        rule.rtmr1,
        rule.rtmr2,
        rule.rtmr3,
        rule.mrConfigId,
        rule.mrOwner,
        rule.mrOwnerConfig,
      ].map(hexField),
    ),
  );
}

/** The rule pinning everything the quote measures. */
export function exactRuleOf(m: Measured): MeasurementRule {
  if (m.tee === 'sim') return { tee: 'sim', measurement: m.measurement };
  if (m.tee === 'sgx') {
    const kss = !isZero(m.configId) || m.configSvn !== 0;
    return kss
      ? { tee: 'sgx', mrEnclave: m.mrEnclave, configId: m.configId, minConfigSvn: m.configSvn }
      : { tee: 'sgx', mrEnclave: m.mrEnclave };
  }
  const { tee, ...fields } = m;
  return { tee, ...fields };
}

/** The quote's measurement id: its exact rule's id. */
export function measurementIdOf(m: Measured): Hex {
  return ruleId(exactRuleOf(m));
}

/** The measured identity from a verifier's result (null when the quote did not parse). */
export function measuredOf(result: AttestationResult): Measured | null {
  const d = result.details;
  const h = (key: string): Hex => `0x${String(d[key] ?? '')}` as Hex;
  const n = (key: string): number => Number(d[key] ?? 0);
  if (!result.measurement) return null;
  if (result.tee === 'sim') return { tee: 'sim', measurement: result.measurement };
  if (result.tee === 'sgx')
    return {
      tee: 'sgx',
      mrEnclave: result.measurement,
      mrSigner: h('mrSigner'),
      isvProdId: n('isvProdId'),
      isvSvn: n('isvSvn'),
      configId: h('configId'),
      configSvn: n('configSvn'),
    };
  if (result.tee === 'tdx')
    return {
      tee: 'tdx',
      mrTd: result.measurement,
      rtmr0: h('rtmr0'),
      rtmr1: h('rtmr1'),
      rtmr2: h('rtmr2'),
      rtmr3: h('rtmr3'),
      mrConfigId: h('mrConfigId'),
      mrOwner: h('mrOwner'),
      mrOwnerConfig: h('mrOwnerConfig'),
    };
  return null;
}

function tdxMismatches(rule: TdxRule, m: Extract<Measured, { tee: 'tdx' }>): AttestationReason[] {
  const out: AttestationReason[] = [];
  if (rule.mrTd !== m.mrTd) out.push({ code: 'MrTdMismatch', detail: `MRTD ${m.mrTd} is not the rule's` });
  for (const i of [0, 1, 2, 3] as const) {
    const key = `rtmr${i}` as const;
    if (rule[key] !== m[key])
      out.push({ code: 'RtmrMismatch', detail: `RTMR${i} ${m[key]} is not the rule's ${rule[key]}` });
  }
  const optional = [
    ['mrConfigId', 'MrConfigIdMismatch', 'MRCONFIGID'],
    ['mrOwner', 'MrOwnerMismatch', 'MROWNER'],
    ['mrOwnerConfig', 'MrOwnerConfigMismatch', 'MROWNERCONFIG'],
  ] as const;
  for (const [key, code, name] of optional) {
    if (rule[key] !== undefined && rule[key] !== m[key])
      out.push({ code, detail: `${name} ${m[key]} is not the rule's` });
  }
  return out;
}

function sgxMismatches(rule: SgxRule, m: Extract<Measured, { tee: 'sgx' }>): AttestationReason[] {
  const out: AttestationReason[] = [];
  if (rule.mrEnclave !== undefined && rule.mrEnclave !== m.mrEnclave)
    out.push({ code: 'MrEnclaveMismatch', detail: `MRENCLAVE ${m.mrEnclave} is not the rule's` });
  if (rule.mrSigner !== undefined && rule.mrSigner !== m.mrSigner)
    out.push({ code: 'MrSignerMismatch', detail: `MRSIGNER ${m.mrSigner} is not the rule's` });
  if (rule.isvProdId !== undefined && rule.isvProdId !== m.isvProdId)
    out.push({
      code: 'IsvProdIdMismatch',
      detail: `ISVPRODID ${m.isvProdId}, the rule wants ${rule.isvProdId}`,
    });
  if (rule.minIsvSvn !== undefined && m.isvSvn < rule.minIsvSvn)
    out.push({ code: 'IsvSvnTooLow', detail: `ISVSVN ${m.isvSvn} is below the rule's ${rule.minIsvSvn}` });
  if (rule.configId !== undefined && rule.configId !== m.configId)
    out.push({ code: 'ConfigIdMismatch', detail: 'the KSS CONFIGID is not the rule’s' });
  if (rule.minConfigSvn !== undefined && m.configSvn < rule.minConfigSvn)
    out.push({
      code: 'ConfigSvnTooLow',
      detail: `CONFIGSVN ${m.configSvn} is below the rule's ${rule.minConfigSvn}`,
    });
  return out;
}

/** Where the quote differs from the rule, field by field (empty: the rule admits it). */
export function ruleMismatches(rule: MeasurementRule, m: Measured): AttestationReason[] {
  if (rule.tee !== m.tee)
    return [{ code: 'MeasurementNotAllowed', detail: `a ${m.tee} quote, a ${rule.tee} rule` }];
  if (rule.tee === 'tdx' && m.tee === 'tdx') return tdxMismatches(rule, m);
  if (rule.tee === 'sgx' && m.tee === 'sgx') return sgxMismatches(rule, m);
  if (rule.tee === 'sim' && m.tee === 'sim' && rule.measurement !== m.measurement)
    return [{ code: 'MeasurementNotAllowed', detail: `sim measurement ${m.measurement} is not the rule's` }];
  return [];
}

/** Whether the rule is about this build at all: same MRTD, same MRENCLAVE or same MRSIGNER. */
function concerns(rule: MeasurementRule, m: Measured): boolean {
  if (rule.tee === 'tdx' && m.tee === 'tdx') return rule.mrTd === m.mrTd;
  if (rule.tee === 'sgx' && m.tee === 'sgx')
    return rule.mrEnclave !== undefined ? rule.mrEnclave === m.mrEnclave : rule.mrSigner === m.mrSigner;
  return false;
}

export type MeasurementDecision =
  | { ok: true; id: Hex; rule: MeasurementRule }
  | { ok: false; id: Hex; reasons: AttestationReason[] };

/**
 * Admits the quote when its exact id, or the id of a configured rule it matches, is allowed
 * (the exact id first, then rules by id: the same choice on every gatekeeper with the same
 * rules). `raw` is the quote's MRENCLAVE / MRTD / sim measurement: an allowed MRENCLAVE is the
 * MRENCLAVE-only rule (any CONFIGID); an allowed 48-byte MRTD is a local policy's firmware-only pin
 * (the chain's 32-byte allowlist never holds one).
 */
export function decideMeasurement(
  m: Measured,
  allowed: readonly Hex[],
  rules: readonly MeasurementRule[],
  raw: Hex | null,
): MeasurementDecision {
  const allow = new Set(allowed.map((a) => a.toLowerCase()));
  const exact = exactRuleOf(m);
  const id = ruleId(exact);
  if (allow.has(id)) return { ok: true, id, rule: exact };
  const byId = rules.map((rule) => ({ rule, id: ruleId(rule) })).sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const r of byId)
    if (allow.has(r.id) && ruleMismatches(r.rule, m).length === 0)
      return { ok: true, id: r.id, rule: r.rule };
  if (raw && allow.has(raw)) return { ok: true, id, rule: exact };
  // Name what differs from the nearest allowed rule about this build, else the plain refusal.
  const near = byId
    .filter((r) => concerns(r.rule, m))
    .sort((a, b) => Number(allow.has(b.id)) - Number(allow.has(a.id)));
  const first = near[0];
  if (first) {
    const reasons = ruleMismatches(first.rule, m);
    if (reasons.length) return { ok: false, id, reasons };
    return {
      ok: false,
      id,
      reasons: [
        {
          code: 'MeasurementNotAllowed',
          detail: `it matches rule ${first.id}, which the allowlist does not name`,
        },
      ],
    };
  }
  return {
    ok: false,
    id,
    reasons: [
      {
        code: 'MeasurementNotAllowed',
        detail:
          m.tee === 'tdx'
            ? `measurement id ${id} (MRTD ${m.mrTd} with its RTMRs and config) is not on the allowlist`
            : `measurement ${id} is not on the allowlist`,
      },
    ],
  };
}
