import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { IKeyringPair } from '@polkadot/types/types';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import type { GatewayDomain } from '../../src/crypto/proofs.js';
import { GatekeeperEnclave } from '../../src/gatekeeper/enclave/enclave.js';
import { createGatekeeperPlatform } from '../../src/gatekeeper/enclave/platform.js';
import { identityTransactionSigner } from '../../src/gatekeeper/enclave/transaction-signer.js';
import { DESTINATIONS } from '../../src/protocol/mq-destinations.js';
import { handoversFor } from '../../src/protocol/key-handover-message.js';
import type { Gatekeeper } from '../../src/gatekeeper/service/gatekeeper.js';
import { superviseGatekeeper } from '../../src/gatekeeper/service/supervisor.js';
import { type Logger, createLogger } from '../../src/log/logger.js';
import * as balances from '../../src/phala/actions/balances.js';
import * as registry from '../../src/phala/actions/registry.js';
import type { PhalaClient } from '../../src/phala/client.js';
import { finalizedBlockAt } from '../../src/phala/follow.js';
import { parsePhalaEvent } from '../../src/phala/types.js';
import { Enclave, type StoredKeyInfo } from '../../src/pruntime/enclave/index.js';
import { EnclaveIdentity } from '../../src/pruntime/enclave/identity.js';
import { SimPlatform } from '../../src/pruntime/enclave/platform.js';
import { Sealer } from '../../src/pruntime/enclave/sealing.js';
import type { ContractEngine } from '../../src/pruntime/engine/engine.js';
import type { TestNode } from '../devnet-substrate/helpers.js';

/** The simulated platform every test enclave runs on (mocked TEE hardware: the sim platform). */
export const CA_KEY = new Uint8Array(32).fill(0xca);
export const CA_PUBLIC = toHex(ed25519.getPublicKey(CA_KEY));
export const FOREIGN_CA_KEY = new Uint8Array(32).fill(0xcb);
export const PLATFORM_SECRET = new Uint8Array(32).fill(0x51);
/** A stand-in for the gatekeeper build's measurement (the real one hashes the source tree). */
export const GATEKEEPER_MEASUREMENT = new Uint8Array(32).fill(0x9a);
export const WORKER_MEASUREMENT = toHex(new Uint8Array(32).fill(0x4d));

const dirs: string[] = [];

export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `gk-${label}-`));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function testLogger(name: string): Logger {
  return createLogger({ level: process.env.GK_TEST_LOG ?? 'silent', name, pretty: false });
}

export async function fund(t: TestNode, address: string, amount = 10n ** 15n): Promise<void> {
  await balances.transfer(t.client, { signer: t.alice, to: address, amount });
}

export type TestGatekeeper = {
  name: string;
  dataDir: string;
  enclave: GatekeeperEnclave;
  /** The supervised service and its connection (both replaced after a reconnect). */
  readonly client: PhalaClient;
  readonly gatekeeper: Gatekeeper;
  readonly reconnects: number;
  key: Hex;
  stop(): Promise<void>;
};

export type OpenGatekeeperOptions = {
  dataDir?: string;
  measurement?: Uint8Array;
  registrationTtlSeconds?: number;
  quoteMaxAgeSeconds?: number;
};

export function openGatekeeperEnclave(
  dataDir: string,
  o: OpenGatekeeperOptions = {},
): Promise<GatekeeperEnclave> {
  return GatekeeperEnclave.open({
    dataDir,
    platform: createGatekeeperPlatform({
      provider: 'sim',
      platformCaKey: CA_KEY,
      platformSecret: PLATFORM_SECRET,
      measurement: o.measurement ?? GATEKEEPER_MEASUREMENT,
    }),
    policy: {
      mode: 'development',
      simPlatformCas: [CA_PUBLIC],
      quoteMaxAgeSeconds: o.quoteMaxAgeSeconds ?? 600,
    },
    registrationTtlSeconds: o.registrationTtlSeconds ?? 3600,
  });
}

/** A gatekeeper enclave with a funded account, added on chain (sudo), running the service. */
export async function startGatekeeper(
  t: TestNode,
  name: string,
  o: OpenGatekeeperOptions & {
    addOnChain?: boolean;
    evmGateways?: GatewayDomain[];
    backupDelayMs?: number;
    fundAccount?: boolean;
  } = {},
): Promise<TestGatekeeper> {
  const dataDir = o.dataDir ?? tempDir(name);
  const enclave = await openGatekeeperEnclave(dataDir, o);
  const key = toHex(enclave.secp256k1PublicKey);
  if (o.fundAccount ?? true) await fund(t, enclave.transactionSigner(30).address);
  if ((o.addOnChain ?? true) && !(await registry.getGatekeeper(t.client, key)))
    await registry.addGatekeeper(t.client, {
      sudo: t.alice,
      gatekeeper: key,
      x25519: enclave.publicIdentity.x25519,
      account: enclave.accountId,
    });
  const supervised = await superviseGatekeeper({
    url: t.node.wsUrl,
    reconnectTimeoutMs: 3_000,
    enclave,
    dataDir,
    evmGateways: o.evmGateways,
    backupDelayMs: o.backupDelayMs ?? 4_000,
    masterKeyRetryMs: 5_000,
    logger: testLogger(name),
  });
  return {
    name,
    dataDir,
    enclave,
    get client() {
      return supervised.client;
    },
    get gatekeeper() {
      return supervised.gatekeeper;
    },
    get reconnects() {
      return supervised.reconnects;
    },
    key,
    async stop() {
      await supervised.stop();
      await enclave.close();
    },
  };
}

export type TestWorker = {
  enclave: Enclave;
  key: Hex;
  x25519: Hex;
  signer: IKeyringPair;
  dataDir: string;
  /** Block from which it looks for key handovers. */
  from: number;
};

/** A pRuntime worker enclave (src/pruntime/enclave) on the sim platform with a funded ecdsa account. */
export async function newWorker(
  t: TestNode,
  engine: ContractEngine,
  o: { measurement?: Hex; now?: () => bigint; caKey?: Uint8Array } = {},
): Promise<TestWorker> {
  const dataDir = tempDir('worker');
  const measurement = fromHex(o.measurement ?? WORKER_MEASUREMENT);
  const platform = new SimPlatform({
    platformSecret: PLATFORM_SECRET,
    platformCaKey: o.caKey ?? CA_KEY,
    measurement,
    now: o.now,
  });
  const enclave = await Enclave.open({ dataDir, platform, engine });
  // The worker host signs its own registration with the enclave identity's ecdsa account (the
  // pRuntime worker service will; here the test plays that host).
  const { identity } = await EnclaveIdentity.loadOrCreate(
    dataDir,
    Sealer.derive(PLATFORM_SECRET, measurement),
  );
  const signer = identityTransactionSigner(identity, 30);
  await fund(t, signer.address);
  const head = await t.api.rpc.chain.getHeader();
  return {
    enclave,
    key: enclave.publicIdentity.secp256k1,
    x25519: enclave.publicIdentity.x25519,
    signer,
    dataDir,
    from: head.number.toNumber(),
  };
}

/** Registers the worker with an attestation (its own quote unless given). */
export async function register(t: TestNode, worker: TestWorker, cluster: Hex, attestation?: Uint8Array) {
  return registry.registerWorker(t.client, {
    signer: worker.signer,
    x25519: worker.x25519,
    cluster,
    attestation: attestation ?? (await worker.enclave.quote()),
  });
}

/**
 * Plays the worker host: reads finalized blocks since it last looked, gives its enclave every key
 * handover addressed to it (checking each key against the chain's published one).
 */
export async function receiveKeys(t: TestNode, worker: TestWorker): Promise<StoredKeyInfo[]> {
  const head = (await t.api.rpc.chain.getHeader(await t.api.rpc.chain.getFinalizedHead())).number.toNumber();
  const received: StoredKeyInfo[] = [];
  for (let n = worker.from + 1; n <= head; n++) {
    const block = await finalizedBlockAt(t.api, n);
    for (const raw of block.events) {
      const event = parsePhalaEvent(raw);
      if (event?.type !== 'MessageReceived' || event.sender.kind !== 'gatekeeper') continue;
      if (Buffer.from(fromHex(event.destination)).toString() !== DESTINATIONS.keyHandover) continue;
      for (const h of handoversFor(fromHex(event.payload), fromHex(worker.key), fromHex(worker.x25519))) {
        const published = await registry.getContractKeyAt(t.client, h.id, BigInt(h.epoch));
        if (published !== toHex(h.publicKey)) throw new Error('handover of an unpublished key');
        received.push(
          await worker.enclave.receiveKeyHandover({
            envelope: h.envelope,
            epoch: h.epoch,
            expectedPublicKey: h.publicKey,
          }),
        );
      }
    }
  }
  worker.from = head;
  return received;
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
