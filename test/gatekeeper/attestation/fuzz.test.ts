import { describe, expect, it } from 'vitest';
import { verifyQuote } from '../../../src/gatekeeper/attestation/index.js';
import { parseDcapQuote } from '../../../src/gatekeeper/attestation/quote.js';
import { parseCertificate, parseCrl, pemChain } from '../../../src/gatekeeper/attestation/x509.js';
import {
  IN_WINDOW,
  readCollateral,
  readQuote,
  SGX_COLLATERAL,
  SGX_MRENCLAVE,
  SGX_QUOTE,
  TDX_COLLATERAL,
  TDX_MRTD,
  TDX_QUOTE,
} from './vectors.js';
import { prng } from '../../helpers/prng.js';

const policy = {
  allowedMeasurements: [SGX_MRENCLAVE, TDX_MRTD],
  acceptTcbStatuses: ['UpToDate' as const, 'ConfigurationAndSWHardeningNeeded' as const],
};

function verifyNeverThrows(bytes: Uint8Array, collateral?: unknown) {
  let result: ReturnType<typeof verifyQuote> | undefined;
  expect(() => {
    result = verifyQuote(bytes, { policy, collateral, at: IN_WINDOW });
  }).not.toThrow();
  expect(Array.isArray(result!.reasons)).toBe(true);
  expect(result!.ok).toBe(result!.reasons.length === 0);
  return result!;
}

describe('hostile bytes never throw', () => {
  it('random buffers, with and without quote-like headers', () => {
    const rand = prng(1);
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rand() * 6000);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256);
      if (i % 3 === 0 && len > 8) bytes.set([3 + (i % 3), 0, 2, 0, i % 2 ? 0x81 : 0, 0, 0, 0]);
      if (i % 7 === 0 && len > 4) bytes.set([0x50, 0x42, 0x53, 0x51]); // "PBSQ"
      const r = verifyNeverThrows(bytes);
      expect(r.ok).toBe(false);
    }
  });

  it('the DER readers reject garbage with an error, never a crash or a hang', () => {
    const rand = prng(2);
    for (let i = 0; i < 500; i++) {
      const len = 1 + Math.floor(rand() * 300);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256);
      if (i % 2) bytes[0] = 0x30;
      expect(() => parseCrl(bytes)).toThrow();
      expect(() => parseCertificate(bytes)).toThrow();
    }
    expect(() => pemChain('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----')).toThrow();
  });
});

const title = 'mutated real quotes and collateral';

describe(title, () => {
  // the vectors are read while tests are collected; without them the suite is skipped, not read
  for (const [name, quoteFile, collateralFile, seed] of [
    ['SGX', SGX_QUOTE, SGX_COLLATERAL, 3],
    ['TDX', TDX_QUOTE, TDX_COLLATERAL, 4],
  ] as const) {
    const bytes = readQuote(quoteFile);
    const collateral = readCollateral(collateralFile);
    const parsed = parseDcapQuote(bytes);
    const certStart = parsed.signatureData.certification.data.byteOffset - bytes.byteOffset;
    const certEnd = certStart + parsed.signatureData.certification.data.length;
    const pem = Buffer.from(parsed.signatureData.certification.data).toString('latin1');

    it(`${name}: 400 single-byte mutations are refused unless they only touch unsigned padding or PEM whitespace`, () => {
      expect(verifyNeverThrows(bytes, collateral).ok).toBe(true);
      const rand = prng(seed);
      let refused = 0;
      for (let i = 0; i < 400; i++) {
        const offset = Math.floor(rand() * bytes.length);
        const mutated = new Uint8Array(bytes);
        mutated[offset] = mutated[offset]! ^ (1 + Math.floor(rand() * 255));
        const r = verifyNeverThrows(mutated, collateral);
        if (!r.ok) {
          refused++;
          continue;
        }
        const inTrailing = offset >= bytes.length - parsed.trailingBytes;
        const pemChar = offset >= certStart && offset < certEnd ? pem[offset - certStart]! : '';
        const harmless = /[\s\0]/.test(pemChar) && /[\s\0]/.test(String.fromCharCode(mutated[offset]!));
        if (!inTrailing) expect(harmless, `mutation at ${offset} passed`).toBe(true);
      }
      expect(refused).toBeGreaterThan(350);
    });

    it(`${name}: every truncation is refused`, () => {
      for (let len = 0; len < bytes.length - parsed.trailingBytes; len += 97) {
        expect(verifyNeverThrows(bytes.subarray(0, len), collateral).ok).toBe(false);
      }
    });

    it(`${name}: mutated collateral never throws and never passes with a changed signed field`, () => {
      const rand = prng(seed + 10);
      const keys = Object.keys(collateral);
      for (let i = 0; i < 150; i++) {
        const key = keys[Math.floor(rand() * keys.length)]!;
        const value = collateral[key]!;
        const at = Math.floor(rand() * value.length);
        const ch =
          key.endsWith('crl') || key.endsWith('signature')
            ? '0123456789abcdef'[Math.floor(rand() * 16)]!
            : String.fromCharCode(32 + Math.floor(rand() * 95));
        if (value[at] === ch) continue;
        const changed = { ...collateral, [key]: value.slice(0, at) + ch + value.slice(at + 1) };
        const r = verifyNeverThrows(bytes, changed);
        if (r.ok) {
          // only PEM line breaks/whitespace or base64 padding could be harmless; JSON, CRLs and signatures never
          expect(key).toMatch(/issuer_chain$/);
          expect(/\s/.test(value[at]!) || /\s/.test(ch)).toBe(true);
        }
      }
      for (const junk of [
        null,
        undefined,
        'x',
        1,
        [],
        {},
        { ...collateral, tcb_info: '{' },
        { ...collateral, tcb_info: '[]' },
      ]) {
        verifyNeverThrows(bytes, junk);
      }
    });
  }
});
