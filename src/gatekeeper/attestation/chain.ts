import { errorMessage } from '../../base/errors.js';
import type { AttestationReason, ReasonCode } from './types.js';
import {
  type Certificate,
  type Crl,
  certificateSignedBy,
  crlSignedBy,
  parseCertificateCached,
  pemChain,
  sameBytes,
} from './x509.js';

/** Collects reasons and the validity window of everything a verdict relies on. */
export class Findings {
  readonly reasons: AttestationReason[] = [];
  validFrom = Number.NEGATIVE_INFINITY;
  validUntil = Number.POSITIVE_INFINITY;

  constructor(readonly at: number) {}

  fail(code: ReasonCode, detail: string): void {
    this.reasons.push({ code, detail });
  }

  has(code: ReasonCode): boolean {
    return this.reasons.some((r) => r.code === code);
  }

  /** Checks `at` against [from, until] and narrows the verdict's window. */
  window(from: number, until: number, what: string, codes: [ReasonCode, ReasonCode]): boolean {
    this.validFrom = Math.max(this.validFrom, from);
    this.validUntil = Math.min(this.validUntil, until);
    if (this.at < from) {
      this.fail(codes[1], `${what} is not valid before ${new Date(from * 1000).toISOString()}`);
      return false;
    }
    if (this.at > until) {
      this.fail(codes[0], `${what} expired at ${new Date(until * 1000).toISOString()}`);
      return false;
    }
    return true;
  }
}

const CERT_WINDOW: [ReasonCode, ReasonCode] = ['CertificateExpired', 'CertificateNotYetValid'];
export const COLLATERAL_WINDOW: [ReasonCode, ReasonCode] = ['CollateralExpired', 'CollateralNotYetValid'];

/** Parses a PEM chain into certificates; a failure is recorded with `code` and gives null. */
export function parsePemCertificates(
  text: string,
  what: string,
  findings: Findings,
  code: ReasonCode,
): Certificate[] | null {
  try {
    return pemChain(text).map((der) => parseCertificateCached(der));
  } catch (error) {
    findings.fail(code, `${what}: ${errorMessage(error)}`);
    return null;
  }
}

export type ChainOptions = {
  what: string;
  root: Certificate;
  findings: Findings;
  /** Revocation lists to check each certificate against (by issuer); null skips revocation. */
  crls: Crl[] | null;
  /** The code a broken link gets: BadCertificateChain for the PCK chain, BadCollateralSignature for signers. */
  linkCode: ReasonCode;
};

/**
 * Checks a leaf-first chain up to the pinned root: each link's issuer name and signature, CA
 * flags, validity at `at`, revocation. The chain may end with the root itself (it must then be
 * byte-identical to the pinned one) or with a certificate the pinned root issued. True when the
 * chain is sound.
 */
export function verifyChain(chain: Certificate[], options: ChainOptions): boolean {
  const { what, root, findings, crls, linkCode } = options;
  const before = findings.reasons.length;
  if (chain.length === 0) {
    findings.fail(linkCode, `${what}: empty chain`);
    return false;
  }
  const certs = [...chain];
  const top = certs[certs.length - 1]!;
  if (sameBytes(top.subject, top.issuer)) {
    if (!sameBytes(top.der, root.der)) {
      findings.fail(
        'UntrustedRoot',
        `${what}: ends in a self-signed certificate that is not Intel's SGX Root CA`,
      );
      return false;
    }
    certs.pop();
  } else if (!sameBytes(top.issuer, root.subject)) {
    findings.fail('UntrustedRoot', `${what}: does not lead to Intel's SGX Root CA`);
    return false;
  }
  if (certs.length === 0) {
    findings.fail(linkCode, `${what}: holds only the root`);
    return false;
  }
  const path = [...certs, root];
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1] ?? root;
    const name = cert.subjectCn || `certificate ${i}`;
    if (i < path.length - 1) {
      if (!sameBytes(cert.issuer, issuer.subject)) {
        findings.fail(linkCode, `${what}: ${name} was not issued by ${issuer.subjectCn}`);
        continue;
      }
      if (!issuer.isCa) findings.fail(linkCode, `${what}: ${issuer.subjectCn} is not a CA`);
      if (!certificateSignedBy(cert, issuer)) {
        findings.fail(
          issuer === root ? 'UntrustedRoot' : linkCode,
          `${what}: signature of ${name} does not verify with ${issuer.subjectCn}'s key`,
        );
      }
    }
    findings.window(cert.notBefore, cert.notAfter, `${what}: ${name}`, CERT_WINDOW);
    if (crls) {
      const crl = crls.find((c) => sameBytes(c.issuer, cert.issuer));
      if (!crl)
        findings.fail(
          'CrlIssuerMismatch',
          `${what}: no CRL from ${cert.issuerCn || 'the issuer'} of ${name}`,
        );
      else if (crl.revokedSerials.has(cert.serial)) findings.fail('Revoked', `${what}: ${name} is revoked`);
    }
  }
  return findings.reasons.length === before;
}

/** A CRL's signature by `issuer` and its validity window; true when both hold. */
export function verifyCrl(crl: Crl, issuer: Certificate, what: string, findings: Findings): boolean {
  if (!sameBytes(crl.issuer, issuer.subject)) {
    findings.fail('CrlIssuerMismatch', `${what}: issued by ${crl.issuerCn}, not ${issuer.subjectCn}`);
    return false;
  }
  if (!crlSignedBy(crl, issuer)) {
    findings.fail(
      'BadCollateralSignature',
      `${what}: signature does not verify with ${issuer.subjectCn}'s key`,
    );
    return false;
  }
  return findings.window(crl.thisUpdate, crl.nextUpdate, what, COLLATERAL_WINDOW);
}
