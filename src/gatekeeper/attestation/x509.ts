import { createPublicKey, type KeyObject, verify as nodeVerify, X509Certificate } from 'node:crypto';
import { BoundedCache } from '../../base/bounded-cache.js';
import {
  bitStringBytes,
  booleanValue,
  children,
  DerError,
  type DerNode,
  expect,
  integerHex,
  oid,
  readDer,
  smallInteger,
  TAG,
  time,
} from './der.js';

/**
 * X.509 certificates and CRLs of Intel's PCK and TCB-signing hierarchies. Node's X509Certificate
 * (OpenSSL) checks certificate signatures and gives the public key; the DER reader gives the
 * fields Node does not expose (raw issuer/subject names for exact matching, extensions, CRLs).
 */

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  sgxExtension: '1.2.840.113741.1.13.1',
} as const;

export type Extension = { critical: boolean; value: Uint8Array };

export type Certificate = {
  der: Uint8Array;
  serial: string;
  /** DER of the issuer and subject Names, compared byte for byte (as Intel's QVL does). */
  issuer: Uint8Array;
  subject: Uint8Array;
  issuerCn: string;
  subjectCn: string;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  extensions: Map<string, Extension>;
  x509: X509Certificate;
  publicKey: KeyObject;
};

export type Crl = {
  der: Uint8Array;
  tbs: Uint8Array;
  signature: Uint8Array;
  issuer: Uint8Array;
  issuerCn: string;
  thisUpdate: number;
  nextUpdate: number;
  revokedSerials: Set<string>;
};

function algorithmOid(node: DerNode | undefined): string {
  const parts = children(expect(node, TAG.sequence));
  return oid(parts[0]!);
}

function commonName(name: DerNode): string {
  for (const rdn of children(name, TAG.sequence)) {
    for (const attr of children(rdn, TAG.set)) {
      const [type, value] = children(attr, TAG.sequence);
      if (type && value && oid(type) === OID.commonName) return Buffer.from(value.value).toString('utf8');
    }
  }
  return '';
}

function parseExtensions(node: DerNode): Map<string, Extension> {
  const out = new Map<string, Extension>();
  for (const ext of children(node, TAG.sequence)) {
    const parts = children(ext, TAG.sequence);
    const id = oid(parts[0]!);
    let critical = false;
    let valueNode = parts[1];
    if (valueNode?.tag === TAG.boolean) {
      critical = booleanValue(valueNode);
      valueNode = parts[2];
    }
    const value = expect(valueNode, TAG.octetString).value;
    if (out.has(id)) throw new DerError(`certificate: duplicate extension ${id}`);
    out.set(id, { critical, value });
  }
  return out;
}

/** Parses one DER certificate; throws DerError (or Node's error) on anything malformed. */
export function parseCertificate(der: Uint8Array): Certificate {
  const top = children(readDer(der), TAG.sequence);
  if (top.length !== 3) throw new DerError('certificate: expected 3 elements');
  const tbs = children(top[0]!, TAG.sequence);
  if (algorithmOid(top[1]) !== OID.ecdsaWithSha256) {
    throw new DerError('certificate: signature algorithm is not ecdsa-with-SHA256');
  }
  bitStringBytes(top[2]!);
  let i = 0;
  if (tbs[0]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const serial = integerHex(tbs[i++]!);
  if (algorithmOid(tbs[i++]) !== OID.ecdsaWithSha256) throw new DerError('certificate: inner algorithm');
  const issuer = expect(tbs[i++], TAG.sequence);
  const validity = children(expect(tbs[i++], TAG.sequence));
  const subject = expect(tbs[i++], TAG.sequence);
  expect(tbs[i++], TAG.sequence); // subjectPublicKeyInfo
  let extensions = new Map<string, Extension>();
  for (; i < tbs.length; i++) {
    const node = tbs[i]!;
    if (node.tag === 0xa3) extensions = parseExtensions(children(node)[0]!);
  }
  let isCa = false;
  const bc = extensions.get(OID.basicConstraints);
  if (bc) {
    const fields = children(readDer(bc.value), TAG.sequence);
    if (fields[0]?.tag === TAG.boolean) isCa = booleanValue(fields[0]);
  }
  const x509 = new X509Certificate(der);
  return {
    der,
    serial,
    issuer: issuer.bytes,
    subject: subject.bytes,
    issuerCn: commonName(issuer),
    subjectCn: commonName(subject),
    notBefore: time(validity[0]),
    notAfter: time(validity[1]),
    isCa,
    extensions,
    x509,
    publicKey: x509.publicKey,
  };
}

/**
 * Parsed certificates by DER. The same few Intel certificates (root, PCK CAs, TCB signing) come
 * with every quote and collateral, and building an X509Certificate is most of a verification's
 * cost; a parse is a pure function of the bytes, so it is cached (bounded, oldest out first).
 * Validity and revocation are still judged on every verification.
 */
const certificateCache = new BoundedCache<string, Certificate>(512);

export function parseCertificateCached(der: Uint8Array): Certificate {
  return certificateCache.get(Buffer.from(der).toString('base64'), () =>
    parseCertificate(new Uint8Array(der)),
  );
}

const signatureChecks = new WeakMap<Certificate, WeakMap<Certificate, boolean>>();

/** True when `cert` carries a valid signature by `issuer`'s key (remembered per pair). */
export function certificateSignedBy(cert: Certificate, issuer: Certificate): boolean {
  let byIssuer = signatureChecks.get(cert);
  const known = byIssuer?.get(issuer);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    valid = cert.x509.verify(issuer.publicKey);
  } catch {
    valid = false;
  }
  if (!byIssuer) {
    byIssuer = new WeakMap();
    signatureChecks.set(cert, byIssuer);
  }
  byIssuer.set(issuer, valid);
  return valid;
}

/** Parses a DER CRL (RFC 5280 CertificateList). */
export function parseCrl(der: Uint8Array): Crl {
  const top = children(readDer(der), TAG.sequence);
  if (top.length !== 3) throw new DerError('CRL: expected 3 elements');
  if (algorithmOid(top[1]) !== OID.ecdsaWithSha256) throw new DerError('CRL: signature algorithm');
  const signature = bitStringBytes(top[2]!);
  const tbs = children(top[0]!, TAG.sequence);
  let i = 0;
  if (tbs[0]?.tag === TAG.integer) {
    if (smallInteger(tbs[0]) !== 1) throw new DerError('CRL: unsupported version');
    i++;
  }
  if (algorithmOid(tbs[i++]) !== OID.ecdsaWithSha256) throw new DerError('CRL: inner algorithm');
  const issuer = expect(tbs[i++], TAG.sequence);
  const thisUpdate = time(tbs[i++]);
  const next = tbs[i];
  if (!next || (next.tag !== TAG.utcTime && next.tag !== TAG.generalizedTime)) {
    // Intel's CRLs always carry nextUpdate; without one a CRL could never be judged stale.
    throw new DerError('CRL: nextUpdate missing');
  }
  const nextUpdate = time(next);
  i++;
  const revokedSerials = new Set<string>();
  if (tbs[i]?.tag === TAG.sequence) {
    for (const entry of children(tbs[i]!)) {
      const fields = children(entry, TAG.sequence);
      revokedSerials.add(integerHex(fields[0]!));
      time(fields[1]);
    }
    i++;
  }
  if (i < tbs.length && tbs[i]!.tag !== 0xa0) throw new DerError('CRL: unexpected element');
  return {
    der,
    tbs: top[0]!.bytes,
    signature,
    issuer: issuer.bytes,
    issuerCn: commonName(issuer),
    thisUpdate,
    nextUpdate,
    revokedSerials,
  };
}

export function crlSignedBy(crl: Crl, issuer: Certificate): boolean {
  try {
    return nodeVerify('sha256', crl.tbs, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/**
 * The DER certificates of a PEM chain, in order. Only whitespace and NUL padding (which Intel's
 * quoting enclave appends) may stand between or around the blocks.
 */
export function pemChain(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let rest = text;
  for (const match of text.matchAll(PEM_BLOCK)) {
    const body = match[1]!.replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0) throw new DerError('PEM: bad base64');
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
    rest = rest.replace(match[0], '');
    if (out.length > 16) throw new DerError('PEM: too many certificates');
  }
  if (out.length === 0) throw new DerError('PEM: no certificate');
  if (!/^[\s\0]*$/.test(rest)) throw new DerError('PEM: text outside certificate blocks');
  return out;
}

/** A P-256 public key from its raw x‖y (64 bytes), as a Node KeyObject. */
export function p256PublicKey(xy: Uint8Array): KeyObject {
  if (xy.length !== 64) throw new DerError('P-256 key: expected 64 bytes');
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(xy.subarray(0, 32)).toString('base64url'),
      y: Buffer.from(xy.subarray(32)).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** ECDSA-P256-SHA256 over `message` with a raw r‖s signature (the quote and collateral format). */
export function verifyRawP256(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
