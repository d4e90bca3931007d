import type { Findings } from './chain.js';
import { decideMeasurement, measuredOf } from './measurement-policy.js';
import type { AttestationPolicy, AttestationResult } from './types.js';

/** Measurement policy and report data binding, shared by every quote kind. */
export function checkMeasurementAndReportData(
  result: AttestationResult,
  policy: AttestationPolicy,
  expectedReportData: Uint8Array | undefined,
  findings: Findings,
): void {
  const measured = measuredOf(result);
  if (measured) {
    const decision = decideMeasurement(
      measured,
      policy.allowedMeasurements,
      policy.measurementRules,
      result.measurement,
    );
    result.measurementId = decision.id;
    if (!decision.ok) for (const r of decision.reasons) findings.fail(r.code, r.detail);
  }
  if (expectedReportData) {
    const actual = result.reportData ? Buffer.from(result.reportData.slice(2), 'hex') : Buffer.alloc(0);
    if (expectedReportData.length !== 64 || Buffer.compare(actual, expectedReportData) !== 0) {
      findings.fail('ReportDataMismatch', 'report data does not bind the expected keys');
    }
  }
}
