import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Bench } from 'tinybench';
import { toHex } from '../../src/base/bytes.js';
import { ethereumAddress, generateIdentity } from '../../src/crypto/keys.js';
import { reportDataFor } from '../../src/crypto/report-data.js';
import { GatekeeperEnclave } from '../../src/gatekeeper/enclave/enclave.js';
import { createGatekeeperPlatform } from '../../src/gatekeeper/enclave/platform.js';
import { deriveContractPublicKey } from '../../src/gatekeeper/keys/derive.js';
import { SimPlatform } from '../../src/pruntime/enclave/platform.js';
import type { BenchReport } from '../index.js';

export const name = 'gatekeeper';

/**
 * What bounds a gatekeeper's throughput besides the chain: judging a registration (sim quote
 * verification + approval signature), deriving a contract key, sealing contract keys to a worker
 * (one and a full 128-key message), and signing an EVM registration.
 */
export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-'));
  const caKey = new Uint8Array(32).fill(0xca);
  const secret = new Uint8Array(32).fill(0x51);
  const measurement = toHex(new Uint8Array(32).fill(0x4d));
  try {
    const enclave = await GatekeeperEnclave.open({
      dataDir: dir,
      platform: createGatekeeperPlatform({
        provider: 'sim',
        platformCaKey: caKey,
        platformSecret: secret,
        measurement: new Uint8Array(32).fill(0x9a),
      }),
      policy: { mode: 'development', simPlatformCas: [toHex(ed25519.getPublicKey(caKey))] },
      registrationTtlSeconds: 3600,
    });
    const genesis = new Uint8Array(32).fill(0x6e);
    await enclave.createMasterKey(0, genesis);
    const worker = generateIdentity();
    const quote = await new SimPlatform({
      platformSecret: secret,
      platformCaKey: caKey,
      measurement: new Uint8Array(32).fill(0x4d),
    }).quote(reportDataFor(worker.signing.publicKey, worker.encryption.publicKey));
    const cluster = new Uint8Array(32).fill(0xc1);
    const judge = () => {
      const now = Math.floor(Date.now() / 1000);
      return enclave.judgeWorker({
        worker: worker.signing.publicKey,
        x25519: worker.encryption.publicKey,
        cluster,
        attestation: quote,
        registeredAt: 1,
        genesisHash: genesis,
        allowedMeasurements: [measurement],
        at: now,
        now,
      });
    };
    const verdict = judge();
    if (!verdict.ok) throw new Error(verdict.reason);
    const contracts = Array.from({ length: 128 }, (_, i) => ({
      contractId: new Uint8Array(32).fill(i),
      epoch: 0,
    }));
    const master = new Uint8Array(32).fill(0x11);
    const registration = {
      kind: 'WorkerRegistration' as const,
      message: {
        worker: ethereumAddress(worker.signing.publicKey),
        measurement,
        cluster: toHex(cluster),
        expiresAt: verdict.expiresAt,
        epoch: 0n,
      },
    };
    const gateway = { chainId: 1, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const };
    const bench = new Bench({ time: 1_000, warmupTime: 200 });
    bench
      .add('judge registration (sim quote + approval signature)', judge)
      .add('derive contract key', () => deriveContractPublicKey(master, contracts[1]!.contractId, 3))
      .add('seal 1 contract key to a worker', () =>
        enclave.sealContractKeys(worker.signing.publicKey, contracts.slice(0, 1)),
      )
      .add('seal 128 contract keys (one message)', () =>
        enclave.sealContractKeys(worker.signing.publicKey, contracts),
      )
      .add('sign EVM WorkerRegistration', () => enclave.signEvm(registration, [gateway]));
    await bench.run();
    const table: BenchReport['table'] = [];
    const figures: Record<string, number> = {};
    const keys = [
      'judgePerSecond',
      'deriveContractKeyPerSecond',
      'sealOneKeyPerSecond',
      'seal128KeysPerSecond',
      'signEvmRegistrationPerSecond',
    ];
    bench.tasks.forEach((task, i) => {
      const mean = (task.result as { latency: { mean: number } } | undefined)?.latency.mean ?? Number.NaN;
      figures[keys[i]!] = Math.round(1000 / mean);
      table.push({
        operation: task.name,
        'ops/s': Math.round(1000 / mean),
        'mean (ms)': Number(mean.toFixed(3)),
      });
    });
    await enclave.close();
    return { table, figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
