import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/base/bytes.js';
import { generateIdentity } from '../../../src/crypto/keys.js';
import { reportDataFor } from '../../../src/crypto/report-data.js';
import { signSimQuote } from '../../../src/crypto/sim-quote.js';
import { type AttestationPolicyInput, verifyQuote } from '../../../src/gatekeeper/attestation/index.js';
import { ed25519 } from '@noble/curves/ed25519.js';

const ca = ed25519.utils.randomSecretKey();
const caPub = toHex(ed25519.getPublicKey(ca));
const otherCa = ed25519.utils.randomSecretKey();
const worker = generateIdentity();
const reportData = reportDataFor(worker.signing.publicKey, worker.encryption.publicKey);
const measurement = new Uint8Array(32).fill(7);
const NOW = 1_800_000_000;

function quote(overrides: { issuedAt?: bigint; key?: Uint8Array; measurement?: Uint8Array } = {}) {
  return signSimQuote(
    {
      measurement: overrides.measurement ?? measurement,
      reportData,
      issuedAt: overrides.issuedAt ?? BigInt(NOW - 10),
      platformId: new Uint8Array(32).fill(1),
    },
    overrides.key ?? ca,
  );
}

const dev: AttestationPolicyInput = {
  mode: 'development',
  simPlatformCas: [caPub],
  allowedMeasurements: [toHex(measurement)],
};
const codes = (
  q: Uint8Array,
  policy: AttestationPolicyInput,
  at = NOW,
  expected: Uint8Array | undefined = reportData,
) =>
  verifyQuote(q, { policy, at, ...(expected ? { expectedReportData: expected } : {}) }).reasons.map(
    (r) => r.code,
  );

describe('sim quotes (docs/PROTOCOL.md §5)', () => {
  it('a fresh quote from a trusted platform CA binding the worker keys is valid in development', () => {
    const r = verifyQuote(quote(), { policy: dev, at: NOW, expectedReportData: reportData });
    expect(r).toMatchObject({
      ok: true,
      tee: 'sim',
      measurement: toHex(measurement),
      reportData: toHex(reportData),
      issuedAt: NOW - 10,
      tcbStatus: null,
      advisoryIds: [],
      reasons: [],
      validFrom: NOW - 10 - 60,
      validUntil: NOW - 10 + 86_400,
    });
  });

  it('production refuses sim quotes unless the policy says allowSimInProduction: true', () => {
    expect(codes(quote(), { ...dev, mode: 'production' })).toEqual(['SimNotAllowed']);
    expect(codes(quote(), { ...dev, mode: undefined })).toEqual(['SimNotAllowed']); // production is the default
    expect(codes(quote(), { ...dev, mode: 'production', allowSimInProduction: true })).toEqual([]);
  });

  it('refuses an untrusted platform CA, and a trusted key with a signature it did not make', () => {
    expect(codes(quote({ key: otherCa }), dev)).toEqual(['UntrustedRoot']);
    expect(codes(quote(), { ...dev, simPlatformCas: [] })).toEqual(['UntrustedRoot']);
    const forged = quote({ key: otherCa });
    forged.set(ed25519.getPublicKey(ca), 141); // claim the trusted CA's key
    expect(codes(forged, dev)).toEqual(['BadQuoteSignature']);
  });

  it('refuses any tampered byte', () => {
    const q = quote();
    for (const offset of [5, 40, 105, 120, 200, 236]) {
      const t = new Uint8Array(q);
      t[offset] = t[offset]! ^ 0x10;
      const r = verifyQuote(t, { policy: dev, at: NOW, expectedReportData: reportData });
      expect(r.ok).toBe(false);
      expect(r.reasons.map((x) => x.code)).toContain(
        offset >= 141 && offset < 173 ? 'UntrustedRoot' : 'BadQuoteSignature',
      );
    }
  });

  it('freshness: older than the max age is Expired; ahead of the clock beyond the skew is NotYetValid', () => {
    const policy = { ...dev, quoteMaxAgeSeconds: 600, maxClockSkewSeconds: 30 };
    expect(codes(quote({ issuedAt: BigInt(NOW - 600) }), policy)).toEqual([]);
    expect(codes(quote({ issuedAt: BigInt(NOW - 601) }), policy)).toEqual(['Expired']);
    expect(codes(quote({ issuedAt: BigInt(NOW + 30) }), policy)).toEqual([]);
    expect(codes(quote({ issuedAt: BigInt(NOW + 31) }), policy)).toEqual(['NotYetValid']);
    expect(codes(quote({ issuedAt: 2n ** 64n - 1n }), policy)).toEqual(['NotYetValid']);
  });

  it('measurement allowlist and report data binding', () => {
    expect(codes(quote({ measurement: new Uint8Array(32) }), dev)).toEqual(['MeasurementNotAllowed']);
    const other = generateIdentity();
    const otherData = reportDataFor(other.signing.publicKey, other.encryption.publicKey);
    expect(codes(quote(), dev, NOW, otherData)).toEqual(['ReportDataMismatch']);
    expect(codes(quote(), dev, NOW, undefined)).toEqual([]);
  });

  it('a sim-looking quote of the wrong length is Malformed, not an exception', () => {
    const q = quote();
    expect(codes(q.subarray(0, 100), dev)).toEqual(['Malformed']);
    expect(codes(new Uint8Array([...q, 0]), dev)).toEqual(['Malformed']);
  });
});
