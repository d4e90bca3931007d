import { BaseError, type Retry } from '../../base/errors.js';

/**
 * Intel DCAP ECDSA quotes: SGX v3, TDX v4 (TD report 1.0) and v5 (SGX, TD 1.0 or TD 1.5 body),
 * after Intel's "SGX ECDSA Quote Library API" and "TDX DCAP Quote Generation Library" layouts.
 * Integers are little-endian. Every field is parsed; nothing is verified here.
 *
 *   header (48) ‖ [v5: body type u16 ‖ body size u32] ‖ body ‖ signature data length u32 ‖ signature data
 *   v3 signature data: sig(64) ‖ attestation key(64) ‖ QE report(384) ‖ QE report sig(64)
 *                      ‖ QE auth data (u16 len) ‖ certification data (type u16, size u32, data)
 *   v4/v5:             sig(64) ‖ attestation key(64) ‖ certification data type 6, whose data is
 *                      QE report ‖ QE report sig ‖ QE auth data ‖ certification data (type 5)
 */
export class QuoteFormatError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'QuoteFormatError';
  readonly unsupported: boolean;
  constructor(message: string, unsupported = false) {
    super(message);
    this.unsupported = unsupported;
  }
}

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';
const ENCLAVE_REPORT_LENGTH = 384;
const TD_REPORT10_LENGTH = 584;
const TD_REPORT15_LENGTH = 648;
const MAX_QUOTE_LENGTH = 1 << 20;

export type QuoteHeader = {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
};

export type EnclaveReport = {
  cpuSvn: Uint8Array;
  miscSelect: number;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  /** KSS CONFIGID (64 bytes, zero without KSS) and CONFIGSVN. */
  configId: Uint8Array;
  configSvn: number;
  reportData: Uint8Array;
  raw: Uint8Array;
};

export type TdReport = {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TD report 1.5 (quote v5 body type 3) only. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
};

export type QuoteBody =
  | { kind: 'sgx'; bodyType: 1; report: EnclaveReport }
  | { kind: 'tdx'; bodyType: 2 | 3; report: TdReport };

export type CertificationData = { type: number; data: Uint8Array };

export type QuoteSignatureData = {
  signature: Uint8Array;
  attestationKey: Uint8Array;
  qeReport: EnclaveReport;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The innermost certification data: type 5 carries the PEM PCK chain. */
  certification: CertificationData;
};

export type DcapQuote = {
  header: QuoteHeader;
  body: QuoteBody;
  signatureData: QuoteSignatureData;
  /** The bytes the attestation key signs: header ‖ (v5 body descriptor) ‖ body. */
  signedBytes: Uint8Array;
  /**
   * Bytes after the signature data. They are signed by nothing and ignored, as Intel's QVL and
   * dcap-qvl ignore them (quote providers pad quotes to a fixed size).
   */
  trailingBytes: number;
};

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}
  take(n: number, field: string): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new QuoteFormatError(`${this.what}: truncated at ${field}`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u16(field: string): number {
    const b = this.take(2, field);
    return b[0]! | (b[1]! << 8);
  }
  u32(field: string): number {
    const b = this.take(4, field);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
}

function parseHeader(r: Reader): QuoteHeader {
  return {
    version: r.u16('version'),
    attestationKeyType: r.u16('attestation key type'),
    teeType: r.u32('tee type'),
    qeSvn: r.u16('QE SVN'),
    pceSvn: r.u16('PCE SVN'),
    qeVendorId: r.take(16, 'QE vendor id'),
    userData: r.take(20, 'user data'),
  };
}

export function parseEnclaveReport(raw: Uint8Array): EnclaveReport {
  const r = new Reader(raw, 'enclave report');
  const cpuSvn = r.take(16, 'CPUSVN');
  const miscSelect = r.u32('MISCSELECT');
  r.take(28, 'reserved');
  const attributes = r.take(16, 'ATTRIBUTES');
  const mrEnclave = r.take(32, 'MRENCLAVE');
  r.take(32, 'reserved');
  const mrSigner = r.take(32, 'MRSIGNER');
  r.take(32, 'reserved');
  const configId = r.take(64, 'CONFIGID');
  const isvProdId = r.u16('ISVPRODID');
  const isvSvn = r.u16('ISVSVN');
  const configSvn = r.u16('CONFIGSVN');
  r.take(58, 'reserved');
  const reportData = r.take(64, 'REPORTDATA');
  const report: EnclaveReport = {
    cpuSvn,
    miscSelect,
    attributes,
    mrEnclave,
    mrSigner,
    isvProdId,
    isvSvn,
    configId,
    configSvn,
    reportData,
    raw,
  };
  if (r.remaining !== 0) throw new QuoteFormatError('enclave report: wrong length');
  return report;
}

function parseTdReport(raw: Uint8Array, v15: boolean): TdReport {
  const r = new Reader(raw, 'TD report');
  const report: TdReport = {
    teeTcbSvn: r.take(16, 'TEE_TCB_SVN'),
    mrSeam: r.take(48, 'MRSEAM'),
    mrSignerSeam: r.take(48, 'MRSIGNERSEAM'),
    seamAttributes: r.take(8, 'SEAMATTRIBUTES'),
    tdAttributes: r.take(8, 'TDATTRIBUTES'),
    xfam: r.take(8, 'XFAM'),
    mrTd: r.take(48, 'MRTD'),
    mrConfigId: r.take(48, 'MRCONFIGID'),
    mrOwner: r.take(48, 'MROWNER'),
    mrOwnerConfig: r.take(48, 'MROWNERCONFIG'),
    rtmr: [r.take(48, 'RTMR0'), r.take(48, 'RTMR1'), r.take(48, 'RTMR2'), r.take(48, 'RTMR3')],
    reportData: r.take(64, 'REPORTDATA'),
  };
  if (v15) {
    report.teeTcbSvn2 = r.take(16, 'TEE_TCB_SVN_2');
    report.mrServiceTd = r.take(48, 'MRSERVICETD');
  }
  if (r.remaining !== 0) throw new QuoteFormatError('TD report: wrong length');
  return report;
}

function parseCertificationData(r: Reader, what: string): CertificationData {
  const type = r.u16(`${what} type`);
  const size = r.u32(`${what} size`);
  const data = r.take(size, `${what} data`);
  return { type, data };
}

function parseQeReportCertificationData(bytes: Uint8Array) {
  const r = new Reader(bytes, 'QE report certification data');
  const qeReport = parseEnclaveReport(r.take(ENCLAVE_REPORT_LENGTH, 'QE report'));
  const qeReportSignature = r.take(64, 'QE report signature');
  const qeAuthData = r.take(r.u16('QE auth data size'), 'QE auth data');
  const certification = parseCertificationData(r, 'certification data');
  if (r.remaining !== 0) throw new QuoteFormatError('QE report certification data: trailing bytes');
  return { qeReport, qeReportSignature, qeAuthData, certification };
}

/** Parses a DCAP quote; throws QuoteFormatError (with `unsupported` for versions/types it does not know). */
export function parseDcapQuote(bytes: Uint8Array): DcapQuote {
  if (bytes.length > MAX_QUOTE_LENGTH) throw new QuoteFormatError('quote: larger than 1 MiB');
  const r = new Reader(bytes, 'quote');
  const header = parseHeader(r);
  let body: QuoteBody;
  if (header.version === 3) {
    if (header.teeType !== TEE_TYPE_SGX) throw new QuoteFormatError('quote v3: TEE type is not SGX', true);
    body = { kind: 'sgx', bodyType: 1, report: parseEnclaveReport(r.take(ENCLAVE_REPORT_LENGTH, 'body')) };
  } else if (header.version === 4) {
    if (header.teeType === TEE_TYPE_TDX) {
      body = { kind: 'tdx', bodyType: 2, report: parseTdReport(r.take(TD_REPORT10_LENGTH, 'body'), false) };
    } else if (header.teeType === TEE_TYPE_SGX) {
      body = { kind: 'sgx', bodyType: 1, report: parseEnclaveReport(r.take(ENCLAVE_REPORT_LENGTH, 'body')) };
    } else {
      throw new QuoteFormatError(`quote v4: unknown TEE type 0x${header.teeType.toString(16)}`, true);
    }
  } else if (header.version === 5) {
    const bodyType = r.u16('body type');
    const size = r.u32('body size');
    const expected = { 1: ENCLAVE_REPORT_LENGTH, 2: TD_REPORT10_LENGTH, 3: TD_REPORT15_LENGTH }[bodyType];
    if (expected === undefined) throw new QuoteFormatError(`quote v5: unknown body type ${bodyType}`, true);
    if (size !== expected)
      throw new QuoteFormatError(`quote v5: body type ${bodyType} must be ${expected} bytes`);
    const raw = r.take(size, 'body');
    if (bodyType === 1) {
      if (header.teeType !== TEE_TYPE_SGX)
        throw new QuoteFormatError('quote v5: SGX body in a non-SGX quote');
      body = { kind: 'sgx', bodyType: 1, report: parseEnclaveReport(raw) };
    } else {
      if (header.teeType !== TEE_TYPE_TDX) throw new QuoteFormatError('quote v5: TD body in a non-TDX quote');
      body = { kind: 'tdx', bodyType: bodyType as 2 | 3, report: parseTdReport(raw, bodyType === 3) };
    }
  } else {
    throw new QuoteFormatError(`quote version ${header.version} is not supported`, true);
  }
  const signedBytes = bytes.subarray(0, r.pos);
  const sigData = new Reader(r.take(r.u32('signature data length'), 'signature data'), 'signature data');

  const signature = sigData.take(64, 'quote signature');
  const attestationKey = sigData.take(64, 'attestation key');
  let rest: ReturnType<typeof parseQeReportCertificationData>;
  if (header.version === 3) {
    const qeReport = parseEnclaveReport(sigData.take(ENCLAVE_REPORT_LENGTH, 'QE report'));
    const qeReportSignature = sigData.take(64, 'QE report signature');
    const qeAuthData = sigData.take(sigData.u16('QE auth data size'), 'QE auth data');
    const certification = parseCertificationData(sigData, 'certification data');
    rest = { qeReport, qeReportSignature, qeAuthData, certification };
  } else {
    const outer = parseCertificationData(sigData, 'certification data');
    if (outer.type !== 6) {
      throw new QuoteFormatError(
        `quote v${header.version}: certification data type ${outer.type}, expected 6`,
        true,
      );
    }
    rest = parseQeReportCertificationData(outer.data);
  }
  if (sigData.remaining !== 0) throw new QuoteFormatError('signature data: trailing bytes');
  return {
    header,
    body,
    signatureData: { signature, attestationKey, ...rest },
    signedBytes,
    trailingBytes: bytes.length - r.pos,
  };
}
