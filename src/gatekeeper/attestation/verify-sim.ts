import { toHex } from '../../base/bytes.js';
import { parseSimQuote, simQuoteSignatureValid } from '../../crypto/sim-quote.js';
import { Findings } from './chain.js';
import type { AttestationPolicy, AttestationResult } from './types.js';
import { checkMeasurementAndReportData } from './policy-checks.js';

export type SimVerifyOptions = {
  policy: AttestationPolicy;
  at: number;
  expectedReportData?: Uint8Array | undefined;
};

/**
 * Verifies a simulated quote (docs/PROTOCOL.md §5): a platform CA the policy trusts, its Ed25519
 * signature, freshness (issuedAt within quoteMaxAgeSeconds of `at`, at most maxClockSkewSeconds
 * ahead), and the production guard. Never throws.
 */
export function verifySimQuote(bytes: Uint8Array, options: SimVerifyOptions): AttestationResult {
  const { policy, at } = options;
  const findings = new Findings(at);
  const result: AttestationResult = {
    ok: false,
    tee: 'sim',
    measurement: null,
    reportData: null,
    issuedAt: null,
    tcbStatus: null,
    advisoryIds: [],
    reasons: findings.reasons,
    validFrom: null,
    validUntil: null,
    details: {},
  };
  const quote = parseSimQuote(bytes);
  if (!quote) {
    findings.fail('Malformed', 'not a sim quote');
    return result;
  }
  result.measurement = toHex(quote.measurement);
  result.reportData = toHex(quote.reportData);
  result.details.platformId = Buffer.from(quote.platformId).toString('hex');
  result.details.platformCa = Buffer.from(quote.platformCaPublicKey).toString('hex');
  if (policy.mode === 'production' && !policy.allowSimInProduction) {
    findings.fail('SimNotAllowed', 'production mode refuses sim quotes unless allowSimInProduction is true');
  }
  if (!policy.simPlatformCas.includes(toHex(quote.platformCaPublicKey))) {
    findings.fail('UntrustedRoot', 'the quote is signed by a platform CA the policy does not trust');
  }
  if (!simQuoteSignatureValid(quote))
    findings.fail('BadQuoteSignature', 'the platform CA signature does not verify');
  // issuedAt is a u64; beyond 2^53 it is garbage anyway and fails the window below.
  const issuedAt =
    quote.issuedAt > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(quote.issuedAt);
  result.issuedAt = issuedAt;
  result.validFrom = issuedAt - policy.maxClockSkewSeconds;
  result.validUntil = issuedAt + policy.quoteMaxAgeSeconds;
  if (issuedAt > at + policy.maxClockSkewSeconds) {
    findings.fail('NotYetValid', `issued at ${issuedAt}, in the future of ${at}`);
  } else if (at - issuedAt > policy.quoteMaxAgeSeconds) {
    findings.fail('Expired', `issued at ${issuedAt}, older than ${policy.quoteMaxAgeSeconds} s at ${at}`);
  }
  checkMeasurementAndReportData(result, policy, options.expectedReportData, findings);
  result.ok = findings.reasons.length === 0;
  return result;
}
