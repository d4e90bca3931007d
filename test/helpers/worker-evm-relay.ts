import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Hex } from '../../src/base/bytes.js';
import { parseConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/log/logger.js';
import { createLogger } from '../../src/log/logger.js';
import { registry } from '../../src/phala/index.js';
import type { ContractEngine } from '../../src/pruntime/engine/engine.js';
import { type WorkerService, startWorker } from '../../src/pruntime/worker/index.js';
import { type Deployed, type WorkerFixture, startWorkerFixture } from '../pruntime/worker/fixture.js';
import { ECHO_CONTRACT, type EvmRelayFixture, startEvmRelayFixture } from './evm-relay.js';

/**
 * The EVM flow with the real worker service: a Phala dev node (gatekeeper stand-in, as the
 * worker tests use) holding a stateless echo contract, a Hardhat node whose gateway knows that
 * contract, and worker services (in process or as `phala-bridge worker` children) that register
 * on the Phala-style chain, are approved, get the contract key, and are registered on the gateway.
 */
export type WorkerEvmRelayFixture = Awaited<ReturnType<typeof startWorkerEvmRelayFixture>>;

export type WorkerServiceOptions = {
  name: string;
  concurrency?: number;
  batch?: { maxSize: number; maxDelayMs: number };
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  logLevel?: 'info' | 'warn' | 'error';
};

export async function startWorkerEvmRelayFixture(
  label: string,
  options: { redisUrl?: string; code?: string } = {},
) {
  const w: WorkerFixture = await startWorkerFixture(label, { evm: false });
  let evm: EvmRelayFixture | undefined;
  try {
    // The EVM fixture's cluster is fixed; the Phala-side contract is instantiated in it.
    const cluster = `0x${'11'.repeat(32)}` as Hex;
    const d: Deployed = await w.deploy(cluster, 1, options.code ?? ECHO_CONTRACT);
    evm = await startEvmRelayFixture({
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      contract: { contractId: d.contractId, key: d.key },
    });
    const f = evm;
    if (f.cluster.toLowerCase() !== cluster) throw new Error('the EVM fixture changed its cluster');

    /** A worker's configuration as `phala-bridge worker --config` reads it (relayer's Redis prefix). */
    function workerRawConfig(o: WorkerServiceOptions) {
      const base = w.rawConfig({
        cluster,
        dataDir: w.dataDir(o.name),
        concurrency: o.concurrency ?? 4,
        lockDurationMs: o.lockDurationMs ?? 5_000,
        stalledIntervalMs: o.stalledIntervalMs ?? 1_000,
        ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      });
      return {
        ...base,
        chains: [
          ...base.chains,
          {
            kind: 'evm',
            name: 'hardhat',
            chainId: f.devnet.node.chainId,
            rpcUrl: f.devnet.node.rpcUrl,
            gateway: f.devnet.gateway,
          },
        ],
        redis: { url: f.redisUrl, prefix: f.prefix },
        worker: {
          ...base.worker,
          // The workers check requests on this fixture's own gateway node.
          trust: {
            ...base.worker.trust,
            evm: [{ chainId: f.devnet.node.chainId, endpoints: [f.devnet.node.rpcUrl], quorum: 1, depth: 0 }],
          },
          ...(o.batch ? { batch: o.batch } : {}),
        },
      };
    }

    function writeWorkerConfig(o: WorkerServiceOptions): string {
      const file = path.join(w.tmp, `${o.name}.json`);
      writeFileSync(file, JSON.stringify(workerRawConfig(o)));
      return file;
    }

    /**
     * What gatekeepers do for a new worker, once it registered itself on the Phala-style chain:
     * approve it, hand it the contract key, and register it on the gateway.
     */
    async function onboard(worker: { secp256k1: Hex; x25519: Hex; address: Hex }): Promise<void> {
      const info = await w.waitFor(
        () => registry.getWorker(w.t.client, worker.secp256k1),
        60_000,
        'the worker registration',
      );
      // Gateway and key first: once approved the worker serves, and its first results must be
      // acceptable (registered signer) and possible (key in hand).
      await f.registerWorker(worker.address, w.measurement);
      await w.handOver(worker, [d]);
      if (info.status.kind !== 'approved') await w.approve(worker.secp256k1);
    }

    /** A worker service in this process, serving with the contract key. */
    async function startWorkerService(
      o: WorkerServiceOptions & { engine?: ContractEngine; logger?: Logger },
    ): Promise<WorkerService> {
      const service = await startWorker({
        config: parseConfig(workerRawConfig(o), 'test', {}),
        logger: o.logger ?? createLogger({ level: o.logLevel ?? 'warn' }),
        ...(o.engine ? { engine: o.engine } : {}),
        http: false,
      });
      try {
        await service.waitUntil((s) => s.registration.kind !== 'unregistered', 60_000, 'registration');
        await onboard({ ...service.enclave.publicIdentity });
        await service.whenServing(60_000);
        await service.whenHasContractKey(d.contractId, 60_000);
      } catch (error) {
        await service.stop({ graceMs: 0 });
        throw error;
      }
      return service;
    }

    async function close(): Promise<void> {
      await f.close();
      await w.close();
    }

    return {
      ...f,
      phala: w,
      deployed: d,
      workerRawConfig,
      writeWorkerConfig,
      onboard,
      startWorkerService,
      close,
    };
  } catch (error) {
    await evm?.close().catch(() => undefined);
    await w.close().catch(() => undefined);
    throw error;
  }
}
