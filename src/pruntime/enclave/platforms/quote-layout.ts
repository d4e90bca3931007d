import { tdMeasurementId } from '../../../crypto/measurement-id.js';
import { PlatformError } from './errors.js';

/**
 * The few fields a provider checks in the quote it got back: Intel DCAP quote v3 (SGX enclave
 * report), v4 (TD report 1.0) and v5 (typed body: TD 1.0 or 1.5). Offsets per Intel's "SGX ECDSA
 * Quote Library API" and "TDX DCAP Quoting Library API" layouts. Written here rather than using the
 * gatekeeper's full parser (gatekeeper/attestation/quote.ts) because the gatekeeper imports the
 * enclave core, not the other way round (test/architecture/imports.test.ts); this reads only
 * offsets and never decides trust, which stays the gatekeeper's.
 */
export type QuoteFields = {
  tee: 'sgx' | 'tdx';
  version: number;
  /** MRENCLAVE (32 bytes) or MRTD (48 bytes). */
  measurement: Uint8Array;
  /** TDX: RTMR0-3 (48 bytes each); SGX: empty. */
  rtmrs: Uint8Array[];
  /** TDX: MRCONFIGID, MROWNER, MROWNERCONFIG (48 bytes each); SGX: empty. */
  tdConfig: Uint8Array[];
  reportData: Uint8Array;
};

const HEADER = 48;
const SGX_REPORT = 384;
const TD_REPORT_10 = 584;
const TD_REPORT_15 = 648;
/** Quotes are a few KiB (PCK chain included); a provider answering more is confused or hostile. */
export const MAX_QUOTE_BYTES = 64 * 1024;

const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

function malformed(source: string, detail: string): PlatformError {
  return new PlatformError(`${source} returned a malformed quote.`, detail);
}

/** Reads and bounds-checks a quote; `source` names the provider for the error. */
export function readQuoteFields(quote: Uint8Array, source: string): QuoteFields {
  if (quote.length < HEADER + 4 || quote.length > MAX_QUOTE_BYTES)
    throw malformed(source, `${quote.length} bytes, expected ${HEADER + 4}..${MAX_QUOTE_BYTES}`);
  const version = u16(quote, 0);
  const teeType = u32(quote, 4);
  let body: number;
  let bodyLength: number;
  let tee: 'sgx' | 'tdx';
  if (version === 3) {
    if (teeType !== 0) throw malformed(source, `quote v3 with TEE type 0x${teeType.toString(16)}`);
    [tee, body, bodyLength] = ['sgx', HEADER, SGX_REPORT];
  } else if (version === 4) {
    if (teeType !== 0x81) throw malformed(source, `quote v4 with TEE type 0x${teeType.toString(16)}`);
    [tee, body, bodyLength] = ['tdx', HEADER, TD_REPORT_10];
  } else if (version === 5) {
    const type = u16(quote, HEADER);
    const size = u32(quote, HEADER + 2);
    const expected = type === 1 ? SGX_REPORT : type === 2 ? TD_REPORT_10 : type === 3 ? TD_REPORT_15 : -1;
    if (expected !== size) throw malformed(source, `quote v5 body type ${type} of ${size} bytes`);
    [tee, body, bodyLength] = [type === 1 ? 'sgx' : 'tdx', HEADER + 6, size];
  } else {
    throw malformed(source, `quote version ${version}, expected 3, 4 or 5`);
  }
  const signatureLength = body + bodyLength + 4 <= quote.length ? u32(quote, body + bodyLength) : -1;
  if (signatureLength < 0 || body + bodyLength + 4 + signatureLength > quote.length)
    throw malformed(source, `${quote.length} bytes cannot hold the body and signature data it announces`);
  const at = (offset: number, length: number) => quote.slice(body + offset, body + offset + length);
  if (tee === 'sgx')
    return { tee, version, measurement: at(64, 32), rtmrs: [], tdConfig: [], reportData: at(320, 64) };
  return {
    tee,
    version,
    measurement: at(136, 48),
    rtmrs: [328, 376, 424, 472].map((offset) => at(offset, 48)),
    tdConfig: [184, 232, 280].map((offset) => at(offset, 48)),
    reportData: at(520, 64),
  };
}

/**
 * The provider's check that the quote is the one it asked for: the report data it carries equals
 * the 64 bytes written. A quote over other bytes means a confused or shared interface (another
 * process's request), never something to hand on.
 */
export function expectReportData(fields: QuoteFields, reportData: Uint8Array, source: string): void {
  const same =
    fields.reportData.length === reportData.length && fields.reportData.every((b, i) => b === reportData[i]);
  if (!same)
    throw new PlatformError(
      `${source} returned a quote over other report data.`,
      'the quote is not the one asked for; another request may have used the interface at the same time',
      undefined,
      { retryable: true },
    );
}

/**
 * The 32-byte measurement a TD reports to the enclave: its exact measurement id, the one the
 * gatekeeper's policy names it by (src/crypto/measurement-id.ts: MRTD, RTMR0-3, MRCONFIGID,
 * MROWNER, MROWNERCONFIG). Sealing is bound to it, and a gatekeeper's peers are matched by it, so
 * another kernel or app on the same firmware is another build for both.
 */
export function tdMeasurement(fields: QuoteFields): Uint8Array {
  const [rtmr0, rtmr1, rtmr2, rtmr3] = fields.rtmrs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const [mrConfigId, mrOwner, mrOwnerConfig] = fields.tdConfig as [Uint8Array, Uint8Array, Uint8Array];
  return tdMeasurementId({
    mrTd: fields.measurement,
    rtmrs: [rtmr0, rtmr1, rtmr2, rtmr3],
    mrConfigId,
    mrOwner,
    mrOwnerConfig,
  });
}
