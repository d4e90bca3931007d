import type { Findings } from './chain.js';
import type { AttestationPolicy, AttestationResult } from './types.js';

/** Allowlist and report data binding, shared by every quote kind. */
export function checkMeasurementAndReportData(
  result: AttestationResult,
  policy: AttestationPolicy,
  expectedReportData: Uint8Array | undefined,
  findings: Findings,
): void {
  if (result.measurement && !policy.allowedMeasurements.includes(result.measurement)) {
    findings.fail('MeasurementNotAllowed', `measurement ${result.measurement} is not on the allowlist`);
  }
  if (expectedReportData) {
    const actual = result.reportData ? Buffer.from(result.reportData.slice(2), 'hex') : Buffer.alloc(0);
    if (expectedReportData.length !== 64 || Buffer.compare(actual, expectedReportData) !== 0) {
      findings.fail('ReportDataMismatch', 'report data does not bind the expected keys');
    }
  }
}
