import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { Bench } from 'tinybench';
import { openEnvelope, sealEnvelope } from '../../src/crypto/envelope.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import type { BenchReport } from '../index.js';

export const name = 'envelope';

/** Envelope seal+open beside raw XChaCha20-Poly1305 encrypt+decrypt of the same bytes. */
export async function run(): Promise<BenchReport> {
  const recipient = generateKeyPair('x25519');
  const context = randomBytes(64);
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const table: BenchReport['table'] = [];
  const figures: Record<string, number> = {};
  for (const size of [256, 4096, 65536]) {
    const data = randomBytes(size);
    const bench = new Bench({ time: 1_000, warmupTime: 200 });
    bench
      .add('envelope', () => {
        const sealed = sealEnvelope({
          recipientPublicKey: recipient.publicKey,
          purpose: 'request',
          context,
          plaintext: data,
        });
        openEnvelope({
          recipientSecretKey: recipient.secretKey,
          recipientPublicKey: recipient.publicKey,
          purpose: 'request',
          context,
          envelope: sealed,
        });
      })
      .add('raw', () => {
        const ct = xchacha20poly1305(key, nonce, context).encrypt(data);
        xchacha20poly1305(key, nonce, context).decrypt(ct);
      });
    await bench.run();
    const [envelope, raw] = bench.tasks.map((t) => {
      const r = t.result as { latency: { mean: number } } | undefined;
      return r ? r.latency.mean : Number.NaN;
    }) as [number, number];
    const label = size >= 1024 ? `${size / 1024}KiB` : `${size}B`;
    figures[`sealOpenPerSecond_${label}`] = Math.round(1000 / envelope);
    figures[`rawPerSecond_${label}`] = Math.round(1000 / raw);
    figures[`ratio_${label}`] = Number((envelope / raw).toFixed(2));
    table.push({
      size: label,
      'envelope seal+open (ops/s)': Math.round(1000 / envelope),
      'raw encrypt+decrypt (ops/s)': Math.round(1000 / raw),
      'envelope ÷ raw time': Number((envelope / raw).toFixed(2)),
    });
  }
  return { table, figures };
}
