import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/**
 * A stand-in for Intel's PKI, for the cases the public vectors cannot show (a CRL that revokes the
 * PCK certificate, a foreign root, a QE whose identity is out of date): Intel's keys cannot sign
 * here, so this makes a root, a PCK CA, a PCK leaf with the SGX extension, a TCB signing key, CRLs,
 * TCB info, QE identity and SGX v3 quotes, with real P-256 keys, in the same formats.
 */

const OIDS = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  sgx: '1.2.840.113741.1.13.1',
};

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Uint8Array.of(tag, ...len), body]);
}
const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const set = (...p: Uint8Array[]) => tlv(0x31, ...p);
const octets = (b: Uint8Array) => tlv(0x04, b);
const bool = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
function int(value: number | bigint, tag = 0x02): Uint8Array {
  let hex = BigInt(value).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Uint8Array.of(0), bytes]);
  return tlv(tag, bytes);
}
function oid(text: string): Uint8Array {
  const arcs = text.split('.').map(Number);
  const out = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}
function utcTime(unix: number): Uint8Array {
  const d = new Date(unix * 1000).toISOString(); // 2025-06-19T10:56:11.000Z
  const text = `${d.slice(2, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'latin1'));
}
const name = (cn: string) => seq(set(seq(oid(OIDS.commonName), tlv(0x0c, Buffer.from(cn)))));
const algorithm = seq(oid(OIDS.ecdsaWithSha256));

export type Party = { cn: string; key: KeyObject; publicKey: KeyObject; cert: Uint8Array; serial: number };

let serials = 1000;

function certificate(params: {
  cn: string;
  issuer?: Party;
  notBefore: number;
  notAfter: number;
  ca: boolean;
  sgx?: Uint8Array;
}): Party {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = serials++;
  const issuerName = params.issuer ? name(params.issuer.cn) : name(params.cn);
  const extensions: Uint8Array[] = [];
  if (params.ca) extensions.push(seq(oid(OIDS.basicConstraints), bool(true), octets(seq(bool(true)))));
  if (params.sgx) extensions.push(seq(oid(OIDS.sgx), octets(params.sgx)));
  const tbs = seq(
    tlv(0xa0, int(2)),
    int(serial),
    algorithm,
    issuerName,
    seq(utcTime(params.notBefore), utcTime(params.notAfter)),
    name(params.cn),
    new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    tlv(0xa3, seq(...extensions)),
  );
  const signer = params.issuer?.key ?? privateKey;
  const signature = sign('sha256', tbs, signer);
  const cert = seq(tbs, algorithm, tlv(0x03, Uint8Array.of(0), signature));
  return { cn: params.cn, key: privateKey, publicKey, cert, serial };
}

export function crl(issuer: Party, thisUpdate: number, nextUpdate: number, revoked: number[] = []): string {
  const entries = revoked.map((s) => seq(int(s), utcTime(thisUpdate)));
  const tbs = seq(
    int(1),
    algorithm,
    name(issuer.cn),
    utcTime(thisUpdate),
    utcTime(nextUpdate),
    ...(entries.length ? [seq(...entries)] : []),
  );
  const signature = sign('sha256', tbs, issuer.key);
  return Buffer.from(seq(tbs, algorithm, tlv(0x03, Uint8Array.of(0), signature))).toString('hex');
}

export const pem = (...parties: Party[]) =>
  parties
    .map(
      (p) =>
        `-----BEGIN CERTIFICATE-----\n${Buffer.from(p.cert)
          .toString('base64')
          .replace(/(.{64})/g, '$1\n')
          .trim()}\n-----END CERTIFICATE-----\n`,
    )
    .join('');

const rawSign = (data: Uint8Array, key: KeyObject) =>
  sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });

function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export const FMSPC = '00a067110000';
export const QE_MRSIGNER = '8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff';
const u16 = (v: number) => Uint8Array.of(v & 0xff, v >> 8);

function enclaveReport(fields: {
  cpuSvn?: Uint8Array;
  attributes: number;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
}): Uint8Array {
  const r = new Uint8Array(384);
  if (fields.cpuSvn) r.set(fields.cpuSvn, 0);
  r[48] = fields.attributes;
  r[56] = 0xe7;
  r.set(fields.mrEnclave, 64);
  r.set(fields.mrSigner, 128);
  r.set(u16(fields.isvProdId), 256);
  r.set(u16(fields.isvSvn), 258);
  r.set(fields.reportData, 320);
  return r;
}

/** One platform: root → PCK CA → PCK leaf, root → TCB signing, with validity around `now`. */
export function makePki(now: number, options: { rootCn?: string; pckSvn?: number } = {}) {
  const year = 365 * 86400;
  const root = certificate({
    cn: options.rootCn ?? 'Test SGX Root CA',
    notBefore: now - year,
    notAfter: now + 10 * year,
    ca: true,
  });
  const pckCa = certificate({
    cn: 'Test SGX PCK Processor CA',
    issuer: root,
    notBefore: now - year,
    notAfter: now + 5 * year,
    ca: true,
  });
  const tcbSigner = certificate({
    cn: 'Test SGX TCB Signing',
    issuer: root,
    notBefore: now - year,
    notAfter: now + 5 * year,
    ca: false,
  });
  const cpuSvn = Array.from({ length: 16 }, (_, i) => (i < 2 ? 5 : 0));
  const base = OIDS.sgx;
  const sgx = seq(
    seq(oid(`${base}.1`), octets(new Uint8Array(16).fill(0xaa))),
    seq(
      oid(`${base}.2`),
      seq(
        ...cpuSvn.map((v, i) => seq(oid(`${base}.2.${i + 1}`), int(v))),
        seq(oid(`${base}.2.17`), int(options.pckSvn ?? 13)),
        seq(oid(`${base}.2.18`), octets(Uint8Array.from(cpuSvn))),
      ),
    ),
    seq(oid(`${base}.3`), octets(Uint8Array.of(0, 0))),
    seq(oid(`${base}.4`), octets(Buffer.from(FMSPC, 'hex'))),
    seq(oid(`${base}.5`), int(0, 0x0a)),
  );
  const leaf = certificate({
    cn: 'Test SGX PCK Certificate',
    issuer: pckCa,
    notBefore: now - 86400,
    notAfter: now + year,
    ca: false,
    sgx,
  });

  const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
  function signedJson(value: unknown) {
    const json = JSON.stringify(value);
    return { json, signature: Buffer.from(rawSign(Buffer.from(json), tcbSigner.key)).toString('hex') };
  }
  const level = (svn: number, pcesvn: number, status: string, advisoryIDs: string[] = []) => ({
    tcb: { sgxtcbcomponents: Array.from({ length: 16 }, (_, i) => ({ svn: i < 2 ? svn : 0 })), pcesvn },
    tcbDate: iso(now - 30 * 86400),
    tcbStatus: status,
    advisoryIDs,
  });

  function collateral(params: { revoked?: number[]; qeLevels?: { isvsvn: number; status: string }[] } = {}) {
    const tcbInfo = signedJson({
      id: 'SGX',
      version: 3,
      issueDate: iso(now - 3600),
      nextUpdate: iso(now + 30 * 86400),
      fmspc: FMSPC.toUpperCase(),
      pceId: '0000',
      tcbType: 0,
      tcbEvaluationDataNumber: 17,
      tcbLevels: [
        level(6, 13, 'UpToDate'),
        level(5, 13, 'SWHardeningNeeded', ['INTEL-SA-00615']),
        level(1, 1, 'OutOfDate', ['INTEL-SA-00001']),
      ],
    });
    const qeIdentity = signedJson({
      id: 'QE',
      version: 2,
      issueDate: iso(now - 3600),
      nextUpdate: iso(now + 30 * 86400),
      tcbEvaluationDataNumber: 17,
      miscselect: '00000000',
      miscselectMask: 'FFFFFFFF',
      attributes: '11000000000000000000000000000000',
      attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
      mrsigner: QE_MRSIGNER.toUpperCase(),
      isvprodid: 1,
      tcbLevels: (params.qeLevels ?? [{ isvsvn: 8, status: 'UpToDate' }]).map((l) => ({
        tcb: { isvsvn: l.isvsvn },
        tcbDate: iso(now - 30 * 86400),
        tcbStatus: l.status,
        ...(l.status === 'UpToDate' ? {} : { advisoryIDs: ['INTEL-SA-00477'] }),
      })),
    });
    return {
      pck_crl_issuer_chain: pem(pckCa, root),
      root_ca_crl: crl(root, now - 86400, now + 30 * 86400),
      pck_crl: crl(pckCa, now - 86400, now + 7 * 86400, params.revoked ?? []),
      tcb_info_issuer_chain: pem(tcbSigner, root),
      tcb_info: tcbInfo.json,
      tcb_info_signature: tcbInfo.signature,
      qe_identity_issuer_chain: pem(tcbSigner, root),
      qe_identity: qeIdentity.json,
      qe_identity_signature: qeIdentity.signature,
    };
  }

  /** An SGX v3 quote from this platform. */
  function quote(params: {
    mrEnclave: Uint8Array;
    reportData: Uint8Array;
    qeSvn?: number;
    attributes?: number;
  }) {
    const attestation = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const attestationKey = rawPublicKey(attestation.publicKey);
    const header = Buffer.concat([
      u16(3),
      u16(2),
      new Uint8Array(4),
      u16(params.qeSvn ?? 10),
      u16(13),
      Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'),
      new Uint8Array(20),
    ]);
    const body = enclaveReport({
      attributes: params.attributes ?? 0x05,
      mrEnclave: params.mrEnclave,
      mrSigner: new Uint8Array(32).fill(3),
      isvProdId: 0,
      isvSvn: 0,
      reportData: params.reportData,
    });
    const authData = Uint8Array.from({ length: 32 }, (_, i) => i);
    const qeReportData = new Uint8Array(64);
    qeReportData.set(createHash('sha256').update(attestationKey).update(authData).digest());
    const qeReport = enclaveReport({
      attributes: 0x15,
      mrEnclave: new Uint8Array(32).fill(4),
      mrSigner: Buffer.from(QE_MRSIGNER, 'hex'),
      isvProdId: 1,
      isvSvn: params.qeSvn ?? 10,
      reportData: qeReportData,
    });
    const certData = Buffer.concat([Buffer.from(pem(leaf, pckCa, root)), Uint8Array.of(0)]);
    const sigData = Buffer.concat([
      rawSign(Buffer.concat([header, body]), attestation.privateKey),
      attestationKey,
      qeReport,
      rawSign(qeReport, leaf.key),
      u16(authData.length),
      authData,
      u16(5),
      Uint8Array.of(certData.length & 0xff, (certData.length >> 8) & 0xff, certData.length >> 16, 0),
      certData,
    ]);
    const len = sigData.length;
    return new Uint8Array(
      Buffer.concat([header, body, Uint8Array.of(len & 0xff, (len >> 8) & 0xff, len >> 16, 0), sigData]),
    );
  }

  return { root, pckCa, tcbSigner, leaf, collateral, quote };
}
