import { z } from 'zod';
import type { Hex } from '../../base/bytes.js';

/**
 * A measurement rule (docs/attestation.md#measurement-policy): what a quote's measured identity
 * must be for the rule to admit it. Fields a rule leaves out are not compared. The chain's
 * allowlist names rules by their id (measurement-policy.ts, ruleId), so an allowlist entry pins
 * every field the rule sets.
 */
const hexOf = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`)
    .transform((s) => `0x${s.replace(/^0x/, '').toLowerCase()}` as Hex);
const u16 = z.number().int().min(0).max(0xffff);

export const tdxRuleSchema = z.strictObject({
  tee: z.literal('tdx'),
  mrTd: hexOf(48),
  /** RTMR0 (firmware config), RTMR1 (kernel), RTMR2 (kernel command line, initrd), RTMR3 (app). */
  rtmr0: hexOf(48),
  rtmr1: hexOf(48),
  rtmr2: hexOf(48),
  rtmr3: hexOf(48),
  mrConfigId: hexOf(48).optional(),
  mrOwner: hexOf(48).optional(),
  mrOwnerConfig: hexOf(48).optional(),
});

export const sgxRuleSchema = z
  .strictObject({
    tee: z.literal('sgx'),
    mrEnclave: hexOf(32).optional(),
    mrSigner: hexOf(32).optional(),
    isvProdId: u16.optional(),
    minIsvSvn: u16.optional(),
    /** KSS: the CONFIGID the enclave was launched with, and the lowest CONFIGSVN accepted. */
    configId: hexOf(64).optional(),
    minConfigSvn: u16.optional(),
  })
  .refine((r) => r.mrEnclave !== undefined || r.mrSigner !== undefined, 'mrEnclave or mrSigner')
  .refine(
    (r) => r.mrSigner === undefined || r.isvProdId !== undefined,
    'isvProdId with mrSigner (one signer signs many enclaves)',
  );

export const simRuleSchema = z.strictObject({ tee: z.literal('sim'), measurement: hexOf(32) });

export const measurementRuleSchema = z.union([tdxRuleSchema, sgxRuleSchema, simRuleSchema]);
export type MeasurementRule = z.output<typeof measurementRuleSchema>;
export type MeasurementRuleInput = z.input<typeof measurementRuleSchema>;
export type TdxRule = z.output<typeof tdxRuleSchema>;
export type SgxRule = z.output<typeof sgxRuleSchema>;
