import { BaseError, type Retry } from '../../base/errors.js';

/**
 * A strict, bounds-checked DER reader: just enough ASN.1 for X.509 certificates, CRLs and Intel's
 * SGX extension. Hand-written (about a hundred lines) rather than a schema library because the
 * verifier needs the exact signed byte spans (tbsCertificate, tbsCertList) and Intel's nested
 * OID/value sequences, and because every length here comes from hostile input: each read checks
 * its bounds and throws DerError, which the verifier turns into a `Malformed` reason.
 */
export class DerError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'DerError';
}

export type DerNode = {
  /** The identifier octet (single-byte tags only; DER for X.509 never needs more). */
  tag: number;
  /** The whole TLV. */
  bytes: Uint8Array;
  /** The contents octets. */
  value: Uint8Array;
};

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Reads one TLV at `offset`; returns it and the offset just past it. */
export function readTlv(bytes: Uint8Array, offset = 0): { node: DerNode; end: number } {
  if (offset + 2 > bytes.length) throw new DerError('DER: truncated header');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: multi-byte tags are not supported');
  let pos = offset + 1;
  const first = bytes[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('DER: indefinite length');
    if (count > 4) throw new DerError('DER: length too large');
    if (pos + count > bytes.length) throw new DerError('DER: truncated length');
    if (bytes[pos] === 0) throw new DerError('DER: non-minimal length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos++]!;
    if (length < 0x80) throw new DerError('DER: non-minimal length');
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError('DER: value runs past the end');
  return { node: { tag, bytes: bytes.subarray(offset, end), value: bytes.subarray(pos, end) }, end };
}

/** Parses bytes that must hold exactly one TLV. */
export function readDer(bytes: Uint8Array): DerNode {
  const { node, end } = readTlv(bytes, 0);
  if (end !== bytes.length) throw new DerError('DER: trailing bytes');
  return node;
}

/** The children of a constructed node (SEQUENCE, SET, [n] EXPLICIT); they must fill it exactly. */
export function children(node: DerNode, expectTag?: number): DerNode[] {
  if (expectTag !== undefined) expect(node, expectTag);
  if ((node.tag & 0x20) === 0) throw new DerError('DER: expected a constructed value');
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.value.length) {
    const { node: child, end } = readTlv(node.value, pos);
    out.push(child);
    pos = end;
    if (out.length > 10_000) throw new DerError('DER: too many elements');
  }
  return out;
}

export function expect(node: DerNode | undefined, tag: number): DerNode {
  if (!node) throw new DerError(`DER: missing element (tag 0x${tag.toString(16)})`);
  if (node.tag !== tag) {
    throw new DerError(`DER: expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** Dotted OID text, e.g. "1.2.840.113741.1.13.1". */
export function oid(node: DerNode): string {
  expect(node, TAG.oid);
  const v = node.value;
  if (v.length === 0 || v.length > 64) throw new DerError('DER: bad OID length');
  const arcs: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (acc === 0 && b === 0x80) throw new DerError('DER: non-minimal OID arc');
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 256) throw new DerError('DER: OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(acc);
      acc = 0;
    } else if (i === v.length - 1) {
      throw new DerError('DER: truncated OID');
    }
  }
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** A non-negative INTEGER as a number (small values: versions, SVNs, counts). */
export function smallInteger(node: DerNode, tag: number = TAG.integer): number {
  expect(node, tag);
  const v = node.value;
  if (v.length === 0 || v.length > 6) throw new DerError('DER: integer out of range');
  if (v[0]! & 0x80) throw new DerError('DER: negative integer');
  if (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) throw new DerError('DER: non-minimal integer');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** An INTEGER's magnitude as lower-case hex without leading zeros (serial numbers). */
export function integerHex(node: DerNode): string {
  expect(node, TAG.integer);
  if (node.value.length === 0 || node.value.length > 64) throw new DerError('DER: bad integer length');
  const hex = Buffer.from(node.value)
    .toString('hex')
    .replace(/^(00)+/, '');
  return hex === '' ? '0' : hex;
}

export function booleanValue(node: DerNode): boolean {
  expect(node, TAG.boolean);
  if (node.value.length !== 1) throw new DerError('DER: bad boolean');
  return node.value[0] !== 0;
}

/** UTCTime or GeneralizedTime (the forms RFC 5280 allows: seconds, "Z") as unix seconds. */
export function time(node: DerNode | undefined): number {
  if (!node) throw new DerError('DER: missing time');
  const text = Buffer.from(node.value).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG.utcTime) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new DerError('DER: bad UTCTime');
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.generalizedTime) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new DerError('DER: bad GeneralizedTime');
    year = Number(m[1]);
  } else {
    throw new DerError('DER: expected a time');
  }
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(m![i]));
  const ms = Date.UTC(year, month! - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day || hour! > 23 || minute! > 59) {
    throw new DerError('DER: impossible date');
  }
  return ms / 1000;
}

/** The bytes of a BIT STRING with no unused bits (keys and signatures). */
export function bitStringBytes(node: DerNode): Uint8Array {
  expect(node, TAG.bitString);
  if (node.value.length < 1 || node.value[0] !== 0) throw new DerError('DER: bit string with unused bits');
  return node.value.subarray(1);
}
