import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/base/bytes.js';
import {
  ENVELOPE_OVERHEAD,
  type EnvelopePurpose,
  EnvelopeOpenError,
  envelopePurposes,
  openEnvelope,
  sealEnvelope,
} from '../../src/crypto/envelope.js';
import { requestContext } from '../../src/crypto/envelope-context.js';
import { sha256 } from '../../src/crypto/hash.js';
import { generateKeyPair } from '../../src/crypto/keys.js';

type Vector = {
  purpose: EnvelopePurpose;
  purposeByte: number;
  ephemeralSecretKey: string;
  nonce: string;
  context: string;
  plaintextLength: number;
  plaintext?: string;
  plaintextSha256?: string;
  envelope: string;
  requestContext?: {
    originKey: string;
    requester: string;
    endUser: string;
    contractId: string;
    responseKey: string;
  };
};
const file = JSON.parse(readFileSync(new URL('../vectors/envelope.json', import.meta.url), 'utf8')) as {
  recipientSecretKey: string;
  recipientPublicKey: string;
  vectors: Vector[];
};
const recipientSecret = fromHex(file.recipientSecretKey);
const recipientPublic = fromHex(file.recipientPublicKey);

// An independent construction of envelope v1 from node:crypto (OpenSSL's X25519, HKDF and
// ChaCha20-Poly1305) and a from-the-RFC HChaCha20, so the vectors do not just check our code
// against itself.
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const s = new Uint32Array(16);
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  const k = new DataView(key.buffer, key.byteOffset, 32);
  const n = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  for (let i = 0; i < 8; i++) s[4 + i] = k.getUint32(i * 4, true);
  for (let i = 0; i < 4; i++) s[12 + i] = n.getUint32(i * 4, true);
  const rotl = (v: number, c: number) => ((v << c) | (v >>> (32 - c))) >>> 0;
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  for (const [i, word] of [0, 1, 2, 3, 12, 13, 14, 15].entries()) o.setUint32(i * 4, s[word]!, true);
  return out;
}

function referenceSeal(v: Vector, plaintext: Uint8Array): Uint8Array {
  const ephemeral = crypto.createPrivateKey({
    key: Buffer.concat([X25519_PKCS8, fromHex(v.ephemeralSecretKey)]),
    format: 'der',
    type: 'pkcs8',
  });
  const ephemeralPub = (
    crypto.createPublicKey(ephemeral).export({ format: 'der', type: 'spki' }) as Buffer
  ).subarray(12);
  const recipient = crypto.createPublicKey({
    key: Buffer.concat([X25519_SPKI, recipientPublic]),
    format: 'der',
    type: 'spki',
  });
  const shared = crypto.diffieHellman({ privateKey: ephemeral, publicKey: recipient });
  const info = Buffer.concat([Buffer.from('phala-bridge/envelope/v1'), Buffer.from([v.purposeByte])]);
  const key = new Uint8Array(
    crypto.hkdfSync('sha256', shared, Buffer.concat([ephemeralPub, recipientPublic]), info, 32),
  );
  const nonce = fromHex(v.nonce);
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  const ietfNonce = Buffer.concat([Buffer.alloc(4), nonce.subarray(16)]);
  const cipher = crypto.createCipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.concat([Buffer.from([v.purposeByte]), fromHex(v.context)]), {
    plaintextLength: plaintext.length,
  });
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return new Uint8Array(Buffer.concat([Buffer.from([1]), ephemeralPub, nonce, ct]));
}

function plaintextOf(v: Vector, opened: Uint8Array) {
  if (v.plaintext !== undefined) expect(Buffer.from(opened).toString('hex')).toBe(v.plaintext.slice(2));
  else expect(Buffer.from(sha256(opened)).toString('hex')).toBe(v.plaintextSha256!.slice(2));
  expect(opened.length).toBe(v.plaintextLength);
}

function expectOpenError(fn: () => unknown, reason?: EnvelopeOpenError['reason']) {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(EnvelopeOpenError);
  if (reason) expect((thrown as EnvelopeOpenError).reason).toBe(reason);
}

describe('sealed envelope v1 vectors', () => {
  it('covers every purpose and the 0 B, 1 B, 1 KiB and 64 KiB payloads', () => {
    expect(new Set(file.vectors.map((v) => v.purpose))).toEqual(new Set(Object.keys(envelopePurposes)));
    expect(new Set(file.vectors.map((v) => v.plaintextLength))).toEqual(new Set([0, 1, 1024, 65536]));
  });

  for (const v of file.vectors) {
    it(`${v.purpose}, ${v.plaintextLength} B: seal gives the exact bytes, open gives the plaintext`, () => {
      const opened = openEnvelope({
        recipientSecretKey: recipientSecret,
        purpose: v.purpose,
        context: fromHex(v.context),
        envelope: fromHex(v.envelope),
      });
      plaintextOf(v, opened);
      const sealed = sealEnvelope({
        recipientPublicKey: recipientPublic,
        purpose: v.purpose,
        context: fromHex(v.context),
        plaintext: opened,
        ephemeralSecretKey: fromHex(v.ephemeralSecretKey),
        nonce: fromHex(v.nonce),
      });
      expect(Buffer.from(sealed).toString('hex')).toBe(v.envelope.slice(2));
      expect(Buffer.from(referenceSeal(v, opened)).toString('hex')).toBe(v.envelope.slice(2));
    });
  }

  it('request-input contexts are lp(originKey) ‖ lp(requester) ‖ lp(endUser) ‖ contractId ‖ responseKey (v1.1)', () => {
    const requests = file.vectors.filter((v) => v.purpose === 'request');
    expect(requests.length).toBe(4);
    for (const v of requests) {
      const p = v.requestContext!;
      // Spelled out byte by byte here, independently of requestContext.
      const lp = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
      const expected = Buffer.concat([
        lp(Buffer.from(p.originKey, 'utf8')),
        lp(Buffer.from(p.requester.slice(2), 'hex')),
        lp(Buffer.from(p.endUser.slice(2), 'hex')),
        Buffer.from(p.contractId.slice(2), 'hex'),
        Buffer.from(p.responseKey.slice(2), 'hex'),
      ]);
      expect(v.context.slice(2)).toBe(expected.toString('hex'));
      const built = requestContext(
        p.originKey,
        fromHex(p.requester),
        fromHex(p.contractId),
        fromHex(p.responseKey),
        fromHex(p.endUser),
      );
      expect(Buffer.from(built).toString('hex')).toBe(expected.toString('hex'));
    }
  });

  it('an input sealed for one end user does not open for another (same requester)', () => {
    const alice = fromHex('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
    const bob = fromHex('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
    const consumer = fromHex('0x5fbdb2315678afecb367f032d93f642f64180aa3');
    const contractId = new Uint8Array(32).fill(7);
    const responseKey = new Uint8Array(32).fill(9);
    const envelope = sealEnvelope({
      recipientPublicKey: recipientPublic,
      purpose: 'request',
      context: requestContext('evm-31337', consumer, contractId, responseKey, alice),
      plaintext: new Uint8Array([1, 2, 3]),
    });
    const open = (endUser: Uint8Array) =>
      openEnvelope({
        recipientSecretKey: recipientSecret,
        purpose: 'request',
        context: requestContext('evm-31337', consumer, contractId, responseKey, endUser),
        envelope,
      });
    expect(open(alice)).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => open(bob)).toThrow(EnvelopeOpenError);
    // The default end user is the requester: not Alice either.
    expect(() =>
      openEnvelope({
        recipientSecretKey: recipientSecret,
        purpose: 'request',
        context: requestContext('evm-31337', consumer, contractId, responseKey),
        envelope,
      }),
    ).toThrow(EnvelopeOpenError);
  });
});

describe('sealed envelope v1 properties', () => {
  const recipient = generateKeyPair('x25519');
  const context = crypto.randomBytes(40);
  const plaintext = crypto.randomBytes(48);
  const envelope = sealEnvelope({
    recipientPublicKey: recipient.publicKey,
    purpose: 'output',
    context,
    plaintext,
  });
  const open = (e: Uint8Array, overrides: Partial<Parameters<typeof openEnvelope>[0]> = {}) =>
    openEnvelope({
      recipientSecretKey: recipient.secretKey,
      purpose: 'output',
      context,
      envelope: e,
      ...overrides,
    });

  it('opens what it sealed, with a fresh ephemeral key and nonce each time', () => {
    expect(Buffer.from(open(envelope)).equals(plaintext)).toBe(true);
    const again = sealEnvelope({
      recipientPublicKey: recipient.publicKey,
      purpose: 'output',
      context,
      plaintext,
    });
    expect(Buffer.from(again).equals(Buffer.from(envelope))).toBe(false);
    expect(envelope.length).toBe(plaintext.length + ENVELOPE_OVERHEAD);
  });

  it('any single changed byte of the envelope gives EnvelopeOpenError', () => {
    for (let i = 0; i < envelope.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const tampered = new Uint8Array(envelope);
        tampered[i]! ^= flip;
        expectOpenError(() => open(tampered), i === 0 ? 'unsupported-version' : undefined);
      }
    }
  });

  it('any single changed byte of the context, another purpose or another key gives EnvelopeOpenError', () => {
    for (let i = 0; i < context.length; i++) {
      const other = new Uint8Array(context);
      other[i]! ^= 0x01;
      expectOpenError(() => open(envelope, { context: other }), 'authentication-failed');
    }
    expectOpenError(() => open(envelope, { context: context.subarray(1) }), 'authentication-failed');
    expectOpenError(() => open(envelope, { context: new Uint8Array() }), 'authentication-failed');
    for (const purpose of ['request', 'handover', 'state'] as const) {
      expectOpenError(() => open(envelope, { purpose }), 'authentication-failed');
    }
    expectOpenError(
      () => open(envelope, { recipientSecretKey: generateKeyPair('x25519').secretKey }),
      'authentication-failed',
    );
  });

  it('a truncated envelope and a future version are refused with the reason', () => {
    for (const length of [0, 1, 33, ENVELOPE_OVERHEAD - 1]) {
      expectOpenError(() => open(envelope.subarray(0, length)), 'truncated');
    }
    expectOpenError(() => open(envelope.subarray(0, envelope.length - 1)), 'authentication-failed');
    const future = new Uint8Array(envelope);
    future[0] = 2;
    expectOpenError(() => open(future), 'unsupported-version');
  });

  it('a low-order ephemeral key is refused, not turned into an all-zero key', () => {
    const lowOrder = new Uint8Array(envelope);
    lowOrder.fill(0, 1, 33);
    expectOpenError(() => open(lowOrder), 'invalid-ephemeral-key');
  });

  it('random garbage never yields anything but EnvelopeOpenError', () => {
    for (let i = 0; i < 300; i++) {
      const garbage = crypto.randomBytes(Math.floor(Math.random() * 200));
      if (garbage.length > 0 && i % 2 === 0) garbage[0] = 1;
      expectOpenError(() => open(garbage));
    }
  });
});
