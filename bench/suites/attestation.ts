import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Bench } from 'tinybench';
import { toHex } from '../../src/base/bytes.js';
import { signSimQuote } from '../../src/crypto/sim-quote.js';
import { type AttestationPolicyInput, verifyQuote } from '../../src/gatekeeper/attestation/index.js';
import type { BenchReport } from '../index.js';

export const name = 'attestation';

const shared =
  process.env.PHALA_BRIDGE_SHARED ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');
const dir = path.join(shared, 'vectors', 'sgx');

/**
 * Full verifications per second: the public SGX v3 and TDX v4 samples with their collateral
 * (quote and QE report signatures, PCK chain, both CRLs, TCB info and QE identity with their
 * signer chains, TCB status), and a sim quote for comparison.
 */
export async function run(): Promise<BenchReport> {
  const at = 1_751_000_000;
  const cases: {
    label: string;
    quote: Uint8Array;
    collateral?: unknown;
    policy: AttestationPolicyInput;
    at: number;
  }[] = [];
  if (existsSync(dir)) {
    const read = (f: string) => new Uint8Array(readFileSync(path.join(dir, f)));
    const json = (f: string) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as unknown;
    cases.push({
      label: 'SGX v3 + collateral',
      quote: read('dcap-qvl__sample_sgx_quote'),
      collateral: json('dcap-qvl__sample_sgx_quote_collateral.json'),
      policy: {
        allowedMeasurements: ['0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb'],
        acceptTcbStatuses: ['ConfigurationAndSWHardeningNeeded'],
      },
      at,
    });
    cases.push({
      label: 'TDX v4 + collateral',
      quote: read('dcap-qvl__sample_tdx_quote'),
      collateral: json('dcap-qvl__sample_tdx_quote_collateral.json'),
      policy: {
        allowedMeasurements: [
          '0x91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
        ],
      },
      at,
    });
  } else {
    console.error(`attestation: ${dir} not found; only the sim quote is measured`);
  }
  const ca = ed25519.utils.randomSecretKey();
  const measurement = new Uint8Array(32).fill(1);
  const now = Math.floor(Date.now() / 1000);
  cases.push({
    label: 'sim',
    quote: signSimQuote(
      { measurement, reportData: new Uint8Array(64), issuedAt: BigInt(now), platformId: new Uint8Array(32) },
      ca,
    ),
    policy: {
      mode: 'development',
      simPlatformCas: [toHex(ed25519.getPublicKey(ca))],
      allowedMeasurements: [toHex(measurement)],
    },
    at: now,
  });

  const bench = new Bench({ time: 1_500, warmupTime: 300 });
  for (const c of cases) {
    const params = { policy: c.policy, collateral: c.collateral, at: c.at };
    if (!verifyQuote(c.quote, params).ok) throw new Error(`attestation bench: ${c.label} does not verify`);
    bench.add(c.label, () => {
      verifyQuote(c.quote, params);
    });
  }
  await bench.run();
  const table: BenchReport['table'] = [];
  const figures: Record<string, number> = {};
  for (const task of bench.tasks) {
    const r = task.result as { latency: { mean: number; p99?: number } } | undefined;
    const mean = r ? r.latency.mean : Number.NaN;
    const perSecond = Math.round(1000 / mean);
    table.push({ quote: task.name, 'verifications/s': perSecond, 'mean (ms)': Number(mean.toFixed(3)) });
    figures[`${task.name.split(' ')[0]!.toLowerCase()}VerificationsPerSecond`] = perSecond;
  }
  return { table, figures };
}
