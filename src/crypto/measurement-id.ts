import { concatBytes, utf8 } from '../base/bytes.js';
import { sha256 } from './hash.js';

/**
 * The 32-byte id of a measurement rule (docs/attestation.md#measurement-policy): sha256 over
 * "phala-bridge/measurement-rule/v1" ‖ tee byte (SGX 1, TDX 2) ‖ each field in the rule's order,
 * 0x00 when the rule leaves it out, 0x01 ‖ bytes when it pins it. Here, below both roles, because
 * two of them name a build by it: the gatekeeper's allowlist (a quote's exact rule, every measured
 * field pinned) and a TD's own enclave, whose sealing and whose gatekeeper peers are bound to the
 * same id, so a TD with the same firmware but another kernel or app is another build everywhere.
 */
const RULE_TAG = utf8('phala-bridge/measurement-rule/v1');
const TEE_BYTE = { sgx: 1, tdx: 2 } as const;

export function measurementRuleId(
  tee: 'sgx' | 'tdx',
  fields: readonly (Uint8Array | undefined)[],
): Uint8Array {
  return sha256(
    concatBytes(
      RULE_TAG,
      Uint8Array.of(TEE_BYTE[tee]),
      ...fields.map((f) => (f === undefined ? Uint8Array.of(0) : concatBytes(Uint8Array.of(1), f))),
    ),
  );
}

/** A TD's exact id: MRTD, RTMR0–3, MRCONFIGID, MROWNER, MROWNERCONFIG, all pinned. */
export type TdMeasuredFields = {
  mrTd: Uint8Array;
  rtmrs: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
};

export function tdMeasurementId(td: TdMeasuredFields): Uint8Array {
  return measurementRuleId('tdx', [td.mrTd, ...td.rtmrs, td.mrConfigId, td.mrOwner, td.mrOwnerConfig]);
}
