/** Attestation verification for gatekeepers (docs/attestation.md). */
export { type DcapCollateral, dcapCollateralSchema } from './collateral.js';
export { type CollateralChoice, chooseCollateral } from './collateral-freshness.js';
export {
  decideMeasurement,
  exactRuleOf,
  type Measured,
  type MeasurementDecision,
  measuredOf,
  measurementIdOf,
  ruleId,
  ruleMismatches,
} from './measurement-policy.js';
export {
  type MeasurementRule,
  type MeasurementRuleInput,
  measurementRuleSchema,
} from './measurement-rule.js';
export { parseDcapQuote, type DcapQuote, QuoteFormatError } from './quote.js';
export { INTEL_SGX_ROOT_CA_SHA256, intelSgxRootCa } from './root-ca.js';
export {
  type AttestationPolicy,
  type AttestationPolicyInput,
  type AttestationReason,
  type AttestationResult,
  acceptableTcbStatuses,
  attestationPolicySchema,
  type ReasonCode,
  reasonCodes,
  type TcbStatus,
  type Tee,
  tcbStatuses,
} from './types.js';
export {
  parseAttestationPolicy,
  type VerifyQuoteParameters,
  type VerifyQuoteReturnType,
  verifyQuote,
} from './verify.js';
