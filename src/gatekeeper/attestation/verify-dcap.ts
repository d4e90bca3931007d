import { toHex } from '../../base/bytes.js';
import { errorMessage } from '../../base/errors.js';
import { sha256 } from '../../crypto/hash.js';
import { COLLATERAL_WINDOW, Findings, parsePemCertificates, verifyChain, verifyCrl } from './chain.js';
import {
  type DcapCollateral,
  dcapCollateralSchema,
  hexBytes,
  type QeIdentity,
  qeIdentitySchema,
  type TcbInfo,
  tcbInfoSchema,
} from './collateral.js';
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  type DcapQuote,
  INTEL_QE_VENDOR_ID,
  parseDcapQuote,
  QuoteFormatError,
} from './quote.js';
import { intelSgxRootCa } from './root-ca.js';
import { parseSgxExtension, type SgxExtension } from './sgx-extension.js';
import { evaluateTcb } from './tcb.js';
import { checkMeasurementAndReportData } from './policy-checks.js';
import type { AttestationPolicy, AttestationResult, TcbStatus } from './types.js';
import {
  type Certificate,
  type Crl,
  p256PublicKey,
  parseCertificate,
  parseCrl,
  verifyRawP256,
} from './x509.js';

export type DcapVerifyOptions = {
  policy: AttestationPolicy;
  at: number;
  collateral?: unknown;
  expectedReportData?: Uint8Array | undefined;
  /** Replaces the pinned Intel SGX Root CA (DER); for private test PKIs only. */
  trustAnchor?: Uint8Array | undefined;
};

type VerifiedCollateral = {
  crls: Crl[];
  tcbInfo: TcbInfo | null;
  qeIdentity: QeIdentity | null;
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Verifies a signed JSON collateral document (TCB info or QE identity) and parses it. */
function verifySignedJson<T extends { issueDate: number; nextUpdate: number }>(
  params: {
    what: string;
    json: string;
    signatureHex: string;
    chainPem: string;
    root: Certificate;
    crls: Crl[] | null;
    parse: (value: unknown) => { success: true; data: T } | { success: false; error: { message: string } };
  },
  findings: Findings,
): T | null {
  const { what, json, signatureHex, chainPem, root, crls, parse } = params;
  const chain = parsePemCertificates(chainPem, `${what} issuer chain`, findings, 'MalformedCollateral');
  if (!chain) return null;
  const chainOk = verifyChain(chain, {
    what: `${what} issuer chain`,
    root,
    findings,
    crls,
    linkCode: 'BadCollateralSignature',
  });
  const signer = chain[0]!;
  if (!signer.subjectCn.includes('TCB Signing')) {
    findings.fail(
      'BadCollateralSignature',
      `${what}: signed by ${signer.subjectCn}, not Intel's TCB signing key`,
    );
    return null;
  }
  const signature = hexBytes(signatureHex);
  if (!verifyRawP256(signer.publicKey, Buffer.from(json, 'utf8'), signature)) {
    findings.fail('BadCollateralSignature', `${what}: signature does not verify`);
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    findings.fail('MalformedCollateral', `${what}: not JSON`);
    return null;
  }
  const parsed = parse(value);
  if (!parsed.success) {
    findings.fail('MalformedCollateral', `${what}: ${parsed.error.message.slice(0, 300)}`);
    return null;
  }
  findings.window(parsed.data.issueDate, parsed.data.nextUpdate, what, COLLATERAL_WINDOW);
  return chainOk ? parsed.data : null;
}

function verifyCollateral(input: unknown, root: Certificate, findings: Findings): VerifiedCollateral | null {
  const parsed = dcapCollateralSchema.safeParse(input);
  if (!parsed.success) {
    findings.fail(
      'MalformedCollateral',
      `collateral: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    );
    return null;
  }
  const c: DcapCollateral = parsed.data;
  let rootCrl: Crl;
  let pckCrl: Crl;
  try {
    rootCrl = parseCrl(hexBytes(c.root_ca_crl));
    pckCrl = parseCrl(hexBytes(c.pck_crl));
  } catch (error) {
    findings.fail('MalformedCollateral', `CRL: ${errorMessage(error)}`);
    return null;
  }
  verifyCrl(rootCrl, root, 'Root CA CRL', findings);
  const crlChain = parsePemCertificates(
    c.pck_crl_issuer_chain,
    'PCK CRL issuer chain',
    findings,
    'MalformedCollateral',
  );
  if (crlChain) {
    verifyChain(crlChain, {
      what: 'PCK CRL issuer chain',
      root,
      findings,
      crls: [rootCrl],
      linkCode: 'BadCollateralSignature',
    });
    verifyCrl(pckCrl, crlChain[0]!, 'PCK CRL', findings);
  }
  const crls = [rootCrl, pckCrl];
  const tcbInfo = verifySignedJson(
    {
      what: 'TCB info',
      json: c.tcb_info,
      signatureHex: c.tcb_info_signature,
      chainPem: c.tcb_info_issuer_chain,
      root,
      crls: [rootCrl],
      parse: (v) => tcbInfoSchema.safeParse(v),
    },
    findings,
  );
  const qeIdentity = verifySignedJson(
    {
      what: 'QE identity',
      json: c.qe_identity,
      signatureHex: c.qe_identity_signature,
      chainPem: c.qe_identity_issuer_chain,
      root,
      crls: [rootCrl],
      parse: (v) => qeIdentitySchema.safeParse(v),
    },
    findings,
  );
  // A CRL that failed its own checks still revokes what it lists; the verdict is lost anyway.
  return { crls, tcbInfo, qeIdentity };
}

function emptyResult(): AttestationResult {
  return {
    ok: false,
    tee: null,
    measurement: null,
    reportData: null,
    issuedAt: null,
    tcbStatus: null,
    advisoryIds: [],
    reasons: [],
    validFrom: null,
    validUntil: null,
    details: {},
  };
}

function describe(quote: DcapQuote, result: AttestationResult): void {
  const d = result.details;
  d.quoteVersion = quote.header.version;
  d.qeSvn = quote.header.qeSvn;
  d.pceSvn = quote.header.pceSvn;
  if (quote.body.kind === 'sgx') {
    const r = quote.body.report;
    result.tee = 'sgx';
    result.measurement = toHex(r.mrEnclave);
    result.reportData = toHex(r.reportData);
    Object.assign(d, {
      mrSigner: hex(r.mrSigner),
      isvProdId: r.isvProdId,
      isvSvn: r.isvSvn,
      configId: hex(r.configId),
      configSvn: r.configSvn,
      attributes: hex(r.attributes),
      cpuSvn: hex(r.cpuSvn),
      miscSelect: r.miscSelect,
    });
  } else {
    const r = quote.body.report;
    result.tee = 'tdx';
    result.measurement = toHex(r.mrTd);
    result.reportData = toHex(r.reportData);
    Object.assign(d, {
      bodyType: quote.body.bodyType,
      teeTcbSvn: hex(r.teeTcbSvn),
      mrSeam: hex(r.mrSeam),
      mrSignerSeam: hex(r.mrSignerSeam),
      seamAttributes: hex(r.seamAttributes),
      tdAttributes: hex(r.tdAttributes),
      xfam: hex(r.xfam),
      mrConfigId: hex(r.mrConfigId),
      mrOwner: hex(r.mrOwner),
      mrOwnerConfig: hex(r.mrOwnerConfig),
      rtmr0: hex(r.rtmr[0]),
      rtmr1: hex(r.rtmr[1]),
      rtmr2: hex(r.rtmr[2]),
      rtmr3: hex(r.rtmr[3]),
    });
    if (r.teeTcbSvn2) d.teeTcbSvn2 = hex(r.teeTcbSvn2);
    if (r.mrServiceTd) d.mrServiceTd = hex(r.mrServiceTd);
  }
}

/** The policy's checks on the enclave/TD attributes (dcap-qvl's defaults). */
function checkAttributes(quote: DcapQuote, policy: AttestationPolicy, findings: Findings): void {
  if (quote.body.kind === 'sgx') {
    if (quote.body.report.attributes[0]! & 0x02 && !policy.allowDebug) {
      findings.fail('DebugEnclave', 'the enclave runs in DEBUG mode');
    }
    return;
  }
  const td = quote.body.report;
  const a = td.tdAttributes;
  if (a[0]! & 0x01 && !policy.allowDebug) findings.fail('DebugEnclave', 'the TD runs in DEBUG mode');
  // TUD bits 7:1, SEC bits 27:8 and 29, OTHER bits 62:32 are reserved and must be zero.
  const reserved =
    a[0]! & 0xfe || a[1] || a[2] || a[3]! & 0x2f || a[4]! & 0x7f || a[5] || a[6] || a[7]! & 0x7f;
  if (reserved) findings.fail('TdAttributesNotAllowed', 'reserved TD attribute bits are set');
  if (!(a[3]! & 0x10)) findings.fail('TdAttributesNotAllowed', 'SEPT_VE_DISABLE is not set');
  if (td.mrServiceTd?.some((b) => b !== 0) && !policy.allowServiceTd) {
    findings.fail('ServiceTdBound', 'the TD is bound to a service TD (MRSERVICETD is not zero)');
  }
}

/**
 * Verifies an Intel DCAP quote (SGX v3, TDX v4/v5) with optional collateral. Never throws: every
 * failure is a reason in the result.
 */
export function verifyDcapQuote(bytes: Uint8Array, options: DcapVerifyOptions): AttestationResult {
  const result = emptyResult();
  const findings = new Findings(options.at);
  try {
    verifyInto(bytes, options, result, findings);
  } catch (error) {
    // Defence in depth: a bug must not turn hostile bytes into an exception.
    findings.fail('Malformed', `unexpected: ${errorMessage(error)}`);
  }
  result.reasons = findings.reasons;
  result.ok = findings.reasons.length === 0;
  if (Number.isFinite(findings.validFrom)) result.validFrom = findings.validFrom;
  if (Number.isFinite(findings.validUntil)) result.validUntil = findings.validUntil;
  return result;
}

function verifyInto(
  bytes: Uint8Array,
  options: DcapVerifyOptions,
  result: AttestationResult,
  findings: Findings,
) {
  const { policy } = options;
  let quote: DcapQuote;
  try {
    quote = parseDcapQuote(bytes);
  } catch (error) {
    const unsupported = error instanceof QuoteFormatError && error.unsupported;
    findings.fail(unsupported ? 'UnsupportedQuoteVersion' : 'Malformed', errorMessage(error));
    return;
  }
  describe(quote, result);
  const sig = quote.signatureData;
  if (quote.header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    findings.fail('UnsupportedAttestationKeyType', `attestation key type ${quote.header.attestationKeyType}`);
    return;
  }
  if (hex(quote.header.qeVendorId) !== INTEL_QE_VENDOR_ID) {
    findings.fail('UnsupportedQeVendor', `QE vendor ${hex(quote.header.qeVendorId)} is not Intel's`);
  }

  // The quote signature: the attestation key over header ‖ body.
  let keyOk = true;
  try {
    const key = p256PublicKey(sig.attestationKey);
    if (!verifyRawP256(key, quote.signedBytes, sig.signature)) {
      findings.fail('BadQuoteSignature', 'the quote signature does not verify with the attestation key');
    }
  } catch {
    keyOk = false;
    findings.fail('BadQuoteSignature', 'the attestation key is not a P-256 point');
  }
  // The QE binds the attestation key: its report data is sha256(key ‖ QE auth data) ‖ 32 zeros.
  const binding = sha256(Buffer.concat([sig.attestationKey, sig.qeAuthData]));
  const qeData = sig.qeReport.reportData;
  if (
    !keyOk ||
    Buffer.compare(qeData.subarray(0, 32), binding) !== 0 ||
    qeData.subarray(32).some((b) => b !== 0)
  ) {
    findings.fail(
      'QeReportDataMismatch',
      'QE report data is not sha256(attestation key ‖ QE auth data) ‖ zeros',
    );
  }

  const root = options.trustAnchor ? parseCertificate(options.trustAnchor) : intelSgxRootCa();
  const collateral =
    options.collateral === undefined || options.collateral === null
      ? null
      : verifyCollateral(options.collateral, root, findings);
  if (options.collateral === undefined || options.collateral === null) {
    findings.fail('MissingCollateral', 'no collateral: TCB status and revocation cannot be decided');
  }

  // The PCK chain from the quote's certification data (type 5: PEM chain).
  let pck: SgxExtension | null = null;
  if (sig.certification.type !== 5) {
    findings.fail(
      'UnsupportedCertificationData',
      `certification data type ${sig.certification.type}, expected 5`,
    );
  } else {
    const chain = parsePemCertificates(
      Buffer.from(sig.certification.data).toString('latin1'),
      'PCK certificate chain',
      findings,
      'BadCertificateChain',
    );
    if (chain) {
      verifyChain(chain, {
        what: 'PCK certificate chain',
        root,
        findings,
        crls: collateral ? collateral.crls : null,
        linkCode: 'BadCertificateChain',
      });
      const leaf = chain[0]!;
      if (!leaf.subjectCn.includes('SGX PCK Certificate')) {
        findings.fail(
          'BadCertificateChain',
          `the PCK chain starts with ${leaf.subjectCn}, not a PCK certificate`,
        );
      }
      if (!verifyRawP256(leaf.publicKey, sig.qeReport.raw, sig.qeReportSignature)) {
        findings.fail('BadQeReportSignature', 'the QE report signature does not verify with the PCK key');
      }
      try {
        pck = parseSgxExtension(leaf);
        result.details.fmspc = hex(pck.fmspc);
        result.details.pceId = hex(pck.pceId);
      } catch (error) {
        findings.fail('BadCertificateChain', `PCK certificate: ${errorMessage(error)}`);
      }
    }
  }

  if (collateral?.tcbInfo && collateral.qeIdentity && pck) {
    const verdict = evaluateTcb({
      quote,
      pck,
      tcbInfo: collateral.tcbInfo,
      qeIdentity: collateral.qeIdentity,
    });
    if (!verdict.ok) {
      findings.fail(verdict.code, verdict.detail);
    } else {
      result.tcbStatus = verdict.status;
      result.advisoryIds = verdict.advisoryIds;
      result.details.platformTcbStatus = verdict.platformStatus;
      result.details.qeTcbStatus = verdict.qeStatus;
      if (verdict.status === 'Revoked') findings.fail('TcbRevoked', 'the platform or QE TCB is revoked');
      else if (!policy.acceptTcbStatuses.includes(verdict.status as TcbStatus)) {
        findings.fail('TcbStatusNotAccepted', `TCB status ${verdict.status} is not accepted by the policy`);
      }
    }
  }

  if (collateral?.tcbInfo && collateral.qeIdentity) {
    // Intel raises the evaluation number when it re-rates TCBs (a new advisory): older collateral
    // may still call a platform UpToDate that is not any more.
    const evaluation = Math.min(
      collateral.tcbInfo.tcbEvaluationDataNumber,
      collateral.qeIdentity.tcbEvaluationDataNumber,
    );
    result.details.tcbEvaluationDataNumber = evaluation;
    if (evaluation < policy.minTcbEvaluationDataNumber)
      findings.fail(
        'TcbEvaluationTooOld',
        `collateral TCB evaluation data number ${evaluation} is below the policy's ${policy.minTcbEvaluationDataNumber}`,
      );
  }

  checkAttributes(quote, policy, findings);
  checkMeasurementAndReportData(result, policy, options.expectedReportData, findings);
}
