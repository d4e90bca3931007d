import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { u8aToHex } from '@polkadot/util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { InvalidInputError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { keyPairFromSecret, ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import { signTypedDigest } from '../../src/crypto/proofs.js';
import { type EvmDevnet, startEvmDevnet } from '../../src/devnet/evm/index.js';
import { getGatekeeperSet, isWorkerAuthorized } from '../../src/evm/gateway/read.js';
import { evmMessageDigest } from '../../src/gatekeeper/evm/typed-data.js';
import { encodeEvmSignatureMessage } from '../../src/gatekeeper/messages/evm-signature-message.js';
import { contracts, ecdsaSigner, mq, registry } from '../../src/phala/index.js';
import { DESTINATIONS } from '../../src/protocol/mq-destinations.js';
import { requestJobId } from '../../src/protocol/origin.js';
import {
  CarryFailedError,
  CarryQueue,
  RefreshedRead,
  createCarryMetrics,
} from '../../src/relayer/carry-queue.js';
import { buildChainAdapters } from '../../src/relayer/chains/build.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { RelayerDaemon } from '../../src/relayer/daemon.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { waitFor } from '../helpers/evm-relay.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * One chain's failure never stalls another (issue 15): with the EVM RPC dead, the Phala-style
 * watcher still queues its requests at once, the gatekeeper signatures it found for the EVM
 * gateway wait in that gateway's carry queue (and land once the RPC is back), and /readyz names
 * the dead chain. With Redis unreachable at start, the health and readiness ports still open.
 */

type Readyz = { ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> };

async function readyz(base: string): Promise<{ status: number; body: Readyz; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: (await response.json()) as Readyz, ms: Date.now() - started };
}

/** A loopback port nothing listens on (connections to it are refused). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('with the EVM RPC dead (a cut TCP proxy in front of Hardhat)', () => {
  let t: TestNode;
  let evm: EvmDevnet;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let daemon: RelayerDaemon;
  let started: Promise<void>;
  const gatekeeperSecret = generateKeyPair('secp256k1').secretKey;
  const gatekeeperPublic = keyPairFromSecret('secp256k1', gatekeeperSecret).publicKey;
  let contractId: Hex;

  beforeAll(async () => {
    // The gateway's only gatekeeper is the one that signs on the Phala-style chain below.
    const gatekeeper = { secretKey: gatekeeperSecret, address: ethereumAddress(gatekeeperPublic) };
    [t, evm] = await Promise.all([
      startTestNode(),
      startEvmDevnet({ node: {}, gatekeepers: [gatekeeper], threshold: 1 }),
    ]);
    proxy = await startTcpProxy(Number(new URL(evm.node.rpcUrl).port));

    const gatekeeperAccount = await ecdsaSigner(gatekeeperSecret, 30);
    await registry.addGatekeeper(t.client, {
      sudo: t.alice,
      gatekeeper: u8aToHex(gatekeeperPublic) as Hex,
      x25519: u8aToHex(generateKeyPair('x25519').publicKey) as Hex,
      account: t.api.registry.createType('AccountId', gatekeeperAccount.address).toU8a(),
    });
    const code = new TextEncoder().encode('export function handle(input) { return { public: input }; }');
    const uploaded = await contracts.uploadCode(t.client, { signer: t.alice, code });
    const instance = await contracts.instantiate(t.client, {
      signer: t.alice,
      codeHash: uploaded.event.codeHash,
      cluster: u8aToHex(new Uint8Array(32).fill(0x22)) as Hex,
      salt: '0x01',
    });
    contractId = instance.event.contractId;

    const head = (await t.api.rpc.chain.getHeader()).number.toNumber();
    const config = parseConfig(
      {
        mode: 'development',
        chains: [
          {
            kind: 'evm',
            name: 'hardhat',
            chainId: evm.node.chainId,
            rpcUrl: proxy.url,
            gateway: evm.gateway,
            confirmations: 0,
            pollIntervalMs: 200,
            startBlock: Number(evm.gatewayBlock),
            signer: { value: evm.node.accounts[1]!.privateKey },
            replaceAfterMs: 3_000,
          },
          // From the next block on, whenever the watcher gets going.
          { kind: 'phala', name: 'phala', wsUrl: t.node.wsUrl, blockTimeMs: 1_000, startBlock: head + 1 },
        ],
        redis: { url: REDIS_URL, prefix: `{${uniquePrefix('isolation')}}` },
        queues: { backoffMs: [200, 500, 1_000] },
        metrics: { port: 0 },
        admin: { port: 0 },
        log: { level: 'warn', pretty: false },
        shutdownGraceMs: 3_000,
        checkpointFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'pb-isolation-')), 'checkpoints.json'),
      },
      'test',
      {},
    );
    daemon = new RelayerDaemon({
      config,
      logger: silent,
      adapters: (context) => buildChainAdapters(config, context),
    });
    started = daemon.start();
    await started;
  }, 180_000);

  afterAll(async () => {
    await daemon?.stop(3_000);
    await proxy?.close();
    await Promise.allSettled([t?.stop(), evm?.stop()]);
  });

  it('queues a Phala-style request at once, carries the gatekeepers’ EVM signatures once the RPC is back, and /readyz names the dead chain', async () => {
    proxy.drop();

    // A gatekeeper's signed worker registration for the EVM gateway, in a Phala-style block: the
    // watcher hands it to the gateway's carry queue, whose first step (the gatekeeper set) fails.
    const worker = ethereumAddress(generateKeyPair('secp256k1').publicKey);
    const cluster = u8aToHex(new Uint8Array(32).fill(0x33)) as Hex;
    const { epoch } = await getGatekeeperSet(evm.clients.publicClient, { gateway: evm.gateway });
    const item = {
      kind: 'WorkerRegistration' as const,
      message: {
        worker,
        measurement: u8aToHex(new Uint8Array(32).fill(0x4d)) as Hex,
        cluster,
        expiresAt: BigInt(Math.floor(Date.now() / 1000) + 86_400),
        epoch,
      },
    };
    const domain = { chainId: BigInt(evm.node.chainId), verifyingContract: evm.gateway };
    const payload = encodeEvmSignatureMessage({
      ...item,
      signatures: [
        {
          chainId: BigInt(evm.node.chainId),
          gateway: evm.gateway,
          signature: signTypedDigest(evmMessageDigest(domain, item), gatekeeperSecret),
        },
      ],
    });
    const sender = { kind: 'gatekeeper' as const, key: gatekeeperPublic };
    const destination = u8aToHex(new TextEncoder().encode(DESTINATIONS.evmSignature)) as Hex;
    const sequence = await mq.nextSequence(t.client, sender);
    const signature = mq.signMessage(t.client, {
      secretKey: gatekeeperSecret,
      sender,
      destination,
      sequence,
      payload,
    });
    await mq.pushMessage(t.client, {
      signer: t.bob,
      message: { sender, destination, sequence, payload, signature },
    });

    // Then a request on the Phala-style chain: it must not wait behind the EVM gateway.
    const requested = await contracts.request(t.client, {
      signer: t.bob,
      contractId,
      sealedInput: '0x01020304',
      responseKey: u8aToHex(generateKeyPair('x25519').publicKey) as Hex,
      deadline: await contracts.deadlineIn(t.client, 600),
    });
    const sentAt = Date.now();
    const jobId = requestJobId(
      { kind: 'phala', genesisHash: u8aToHex(t.client.genesisHash) as Hex },
      requested.event.requestId as Hex,
    );
    const journey = await waitFor(
      async () => {
        const entries = await daemon.journeys.entries(jobId);
        return entries.some((e) => e.stage === 'queued') ? entries : null;
      },
      10_000,
      'the Phala-style request queued',
    );
    expect(journey.map((e) => e.stage)).toEqual(expect.arrayContaining(['observed', 'queued']));
    expect(Date.now() - sentAt).toBeLessThan(10_000);

    // The carry to the dead gateway is being retried in the background, not on the block.
    await waitFor(
      async () =>
        /phala_bridge_carry_attempts_total\{target="hardhat",outcome="retry"\} [1-9]/.test(
          await daemon.metrics.registry.getSingleMetricAsString('phala_bridge_carry_attempts_total'),
        ),
      15_000,
      'a retried carry to the dead gateway',
    );

    // Every configured chain is named; only the dead one fails, and the answer does not hang.
    const ready = await readyz(daemon.urls.metrics!);
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(4_000);
    expect(ready.body.ok).toBe(false);
    expect(Object.keys(ready.body.checks).sort()).toEqual(['chain:hardhat', 'chain:phala', 'redis']);
    expect(ready.body.checks['chain:hardhat']).toMatchObject({ ok: false });
    expect(ready.body.checks['chain:hardhat']!.detail).toMatch(
      new RegExp(`^evm: RPC http://127\\.0\\.0\\.1:${proxy.port}: \\S`),
    );
    expect(ready.body.checks['chain:phala']).toMatchObject({ ok: true });
    expect(ready.body.checks['chain:phala']!.detail).toMatch(/^phala: finalized #\d+/);
    expect(ready.body.checks.redis).toMatchObject({ ok: true });

    // The RPC comes back: the queued registration lands on the gateway, and the chain is ready.
    proxy.restore();
    await waitFor(
      () => isWorkerAuthorized(evm.clients.publicClient, { gateway: evm.gateway, worker, cluster }),
      45_000,
      'the carried worker registration on the gateway',
    );
    const after = await waitFor(
      async () => {
        const r = await readyz(daemon.urls.metrics!);
        return r.body.checks['chain:hardhat']?.ok ? r : null;
      },
      15_000,
      'the EVM chain ready again',
    );
    expect(after.body.checks['chain:hardhat']!.detail).toMatch(/^evm: head #\d+/);
  }, 120_000);
});

describe('with Redis unreachable at start', () => {
  function daemonOn(redisUrl: string) {
    const config = parseConfig(
      {
        mode: 'development',
        chains: [{ kind: 'relay', name: 'relay', wsUrl: 'ws://127.0.0.1:1' }],
        redis: { url: redisUrl, prefix: `{${uniquePrefix('no-redis')}}` },
        metrics: { port: 0 },
        admin: { port: 0 },
        log: { level: 'warn', pretty: false },
      },
      'test',
      {},
    );
    // No chains: what is under test is the daemon's start around Redis.
    return new RelayerDaemon({
      config,
      logger: silent,
      adapters: () => ({ watchers: [], destinations: [] }),
    });
  }

  it('opens /healthz (200) and /readyz (503, naming redis) within 2 s', async () => {
    const port = await closedPort();
    const daemon = daemonOn(`redis://127.0.0.1:${port}`);
    const t0 = Date.now();
    const started = daemon.start();
    try {
      const metrics = await waitFor(async () => daemon.urls.metrics, 2_000, 'the metrics port');
      const health = await fetch(`${metrics}/healthz`);
      expect(health.status).toBe(200);
      const ready = await readyz(metrics);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis?.ok).toBe(false);
      expect(ready.body.checks.redis?.detail).toMatch(
        new RegExp(`^redis redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`),
      );
    } finally {
      await daemon.stop(1_000);
      await started;
    }
  });

  it('keeps trying, and starts once Redis answers', async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    proxy.drop();
    const daemon = daemonOn(`redis://127.0.0.1:${proxy.port}`);
    let done = false;
    const started = daemon.start().then(() => {
      done = true;
    });
    try {
      const metrics = await waitFor(async () => daemon.urls.metrics, 2_000, 'the metrics port');
      expect((await readyz(metrics)).body.checks.redis?.ok).toBe(false);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(done).toBe(false);
      proxy.restore();
      await waitFor(async () => done, 15_000, 'start() once Redis answers');
      const ready = await readyz(metrics);
      expect(ready.body.checks.redis).toEqual({ ok: true });
      expect(ready.status).toBe(200);
    } finally {
      await daemon.stop(1_000);
      await started;
      await proxy.close();
    }
  });
});

describe('carry queue (one per target chain) and refreshed cross-chain reads', () => {
  const metrics = () => createCarryMetrics(createRelayerMetrics().registry);

  it('runs tasks in order, coalesces a key still waiting (moved behind newer work), retries what a retry can help and drops what it cannot', async () => {
    const queue = new CarryQueue({
      target: 'sibling',
      logger: silent,
      metrics: metrics(),
      initialBackoffMs: 20,
    });
    const ran: string[] = [];
    let flaky = 2;
    queue.schedule('a', async () => {
      await new Promise((r) => setTimeout(r, 50));
      ran.push('a');
    });
    queue.schedule('revocations', async () => ran.push('revocations-1'));
    queue.schedule('approval', async () => ran.push('approval'));
    // Waiting, so replaced and moved behind the approval scheduled before it.
    queue.schedule('revocations', async () => ran.push('revocations-2'));
    queue.schedule('flaky', async () => {
      if (flaky-- > 0)
        throw new CarryFailedError(
          'sibling',
          'x',
          Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        );
      ran.push('flaky');
    });
    queue.schedule('refused', async () => {
      throw new CarryFailedError('sibling', 'y', new InvalidInputError('payload', 'a valid one'));
    });
    queue.schedule('last', async () => ran.push('last'));
    expect(await queue.idle(5_000)).toBe(true);
    expect(ran).toEqual(['a', 'approval', 'revocations-2', 'flaky', 'last']);
    expect(queue.size).toBe(0);
    await queue.stop();
  });

  it('keeps at most `limit` tasks, dropping the oldest', async () => {
    const m = metrics();
    const queue = new CarryQueue({ target: 'evm', logger: silent, metrics: m, limit: 3 });
    let release!: () => void;
    const ran: string[] = [];
    queue.schedule('busy', () => new Promise<void>((r) => (release = r)));
    for (const k of ['1', '2', '3', '4']) queue.schedule(k, async () => ran.push(k));
    release();
    expect(await queue.idle(5_000)).toBe(true);
    // 'busy' was running (kept), then '1' and '2' went when '3' and '4' came.
    expect(ran).toEqual(['3', '4']);
    expect(await m.attempts.get()).toMatchObject({
      values: expect.arrayContaining([
        expect.objectContaining({ labels: { target: 'evm', outcome: 'overflow' }, value: 2 }),
      ]),
    });
    await queue.stop();
  });

  it('answers with the last value read while the chain is down, refreshing in the background', async () => {
    let up = true;
    let reads = 0;
    const changes: number[] = [];
    const read = new RefreshedRead<number>({
      name: 'evm:gatekeepers',
      read: async () => {
        reads++;
        if (!up) throw new Error('connect ECONNREFUSED');
        return reads;
      },
      ttlMs: 30,
      logger: silent,
      metrics: metrics(),
      onChange: (v) => changes.push(v),
    });
    expect(await read.get()).toBe(1);
    up = false;
    await new Promise((r) => setTimeout(r, 120));
    expect(reads).toBeGreaterThan(2);
    expect(await read.get()).toBe(1); // stale, at once
    expect(read.cached!.ageMs).toBeGreaterThan(60);
    up = true;
    await waitFor(async () => (await read.get()) > 1, 2_000, 'a fresh value');
    expect(changes.length).toBeGreaterThan(0);
    read.stop();
  });
});
