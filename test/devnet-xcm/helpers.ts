import { ApiPromise, WsProvider } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Hex } from '../../src/base/bytes.js';
import { type KeyPair, generateKeyPair } from '../../src/crypto/keys.js';
import {
  type RelayDevnet,
  type StartRelayDevnetParameters,
  startRelayDevnet,
} from '../../src/devnet/relay-devnet.js';
import { type PhalaClient, createPhalaClient, submit } from '../../src/phala/client.js';
import type { DecodedEvent } from '../../src/phala/events.js';
import { balances, contracts, ecdsaSigner, registry, submitSudo } from '../../src/phala/index.js';
import { devSigner, ecdsaAccountId } from '../../src/phala/signers.js';

/** The three-chain devnet with a polkadot-js client on each chain. */
export type TestRelayDevnet = {
  devnet: RelayDevnet;
  relay: PhalaClient;
  phala: PhalaClient;
  sibling: PhalaClient;
  alice: { relay: KeyringPair; phala: KeyringPair; sibling: KeyringPair };
  bob: { phala: KeyringPair; sibling: KeyringPair };
  stop(): Promise<void>;
};

async function connect(url: string): Promise<PhalaClient> {
  const api = await ApiPromise.create({
    provider: new WsProvider(url, 500),
    throwOnConnect: true,
    noInitWarn: true,
  });
  return createPhalaClient({ api, timeoutMs: 30_000 });
}

export async function startTestRelayDevnet(p: StartRelayDevnetParameters = {}): Promise<TestRelayDevnet> {
  const devnet = await startRelayDevnet(p);
  const [relay, phala, sibling] = await Promise.all([
    connect(devnet.relay.wsUrl),
    connect(devnet.phala.wsUrl),
    connect(devnet.sibling.wsUrl),
  ]);
  return {
    devnet,
    relay,
    phala,
    sibling,
    alice: {
      relay: await devSigner('Alice'),
      phala: await devSigner('Alice', 30),
      sibling: await devSigner('Alice'),
    },
    bob: { phala: await devSigner('Bob', 30), sibling: await devSigner('Bob') },
    async stop() {
      await Promise.allSettled([relay.api.disconnect(), phala.api.disconnect(), sibling.api.disconnect()]);
      await devnet.stop();
    },
  };
}

/** Resolves with the first event (from now on) that matches, or rejects after `timeoutMs`. */
export function nextEvent(
  client: PhalaClient,
  section: string,
  name: string,
  match: (e: DecodedEvent) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<DecodedEvent & { blockHash: Hex }> {
  const { api } = client;
  return new Promise((resolve, reject) => {
    let unsubscribe: (() => void) | null = null;
    let done = false;
    const timer = setTimeout(
      () => finish(new Error(`no ${section}.${name} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error: Error | null, event?: DecodedEvent & { blockHash: Hex }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe?.();
      if (error) reject(error);
      else resolve(event!);
    };
    api.rpc.chain
      .subscribeNewHeads(async (header) => {
        const hash = header.hash.toHex() as Hex;
        const { eventsAt } = await import('../../src/phala/events.js');
        const events = await eventsAt(api, hash).catch(() => []);
        const found = events.find((e) => e.section === section && e.name === name && match(e));
        if (found) finish(null, { ...found, blockHash: hash });
      })
      .then(
        (unsub) => {
          unsubscribe = unsub;
          if (done) unsub();
        },
        (error) => finish(error as Error),
      );
  });
}

export function eventIn(events: DecodedEvent[], section: string, name: string): DecodedEvent {
  const e = events.find((x) => x.section === section && x.name === name);
  if (!e)
    throw new Error(`no ${section}.${name} in ${events.map((x) => `${x.section}.${x.name}`).join(', ')}`);
  return e;
}

export type ApprovedWorker = {
  key: KeyPair;
  x25519: Uint8Array;
  cluster: Hex;
  measurement: Hex;
  expiresAt: bigint;
  registeredAt: number;
  /** The gatekeeper's approval signature, as the Phala chain's registry accepted it. */
  approval: Hex;
};

/**
 * On the Phala chain, through the phala pallets' calls: a gatekeeper and a measurement (sudo), a
 * worker that registers itself with its ecdsa account, approved by the gatekeeper's signature.
 */
export async function onboardWorker(
  t: TestRelayDevnet,
  gatekeeper: KeyPair,
  p: { cluster: Hex; measurement: Hex; addMeasurement?: boolean },
): Promise<ApprovedWorker> {
  const { phala } = t;
  await registry.addGatekeeper(phala, {
    sudo: t.alice.phala,
    gatekeeper: gatekeeper.publicKey,
    x25519: generateKeyPair('x25519').publicKey,
    account: t.alice.phala.publicKey,
  });
  if (p.addMeasurement !== false)
    await registry.addMeasurement(phala, { sudo: t.alice.phala, measurement: p.measurement });
  const key = generateKeyPair('secp256k1');
  const x25519 = generateKeyPair('x25519').publicKey;
  const signer = await ecdsaSigner(key.secretKey, 30);
  await balances.transfer(phala, {
    signer: t.alice.phala,
    to: ecdsaAccountId(key.publicKey),
    amount: 10n ** 15n,
  });
  await registry.registerWorker(phala, { signer, x25519, cluster: p.cluster, attestation: '0x01' });
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const approval = await registry.signWorkerApproval(phala, {
    gatekeeperSecretKey: gatekeeper.secretKey,
    worker: key.publicKey,
    measurement: p.measurement,
    expiresAt,
  });
  await registry.approveWorker(phala, {
    signer: t.bob.phala,
    worker: key.publicKey,
    measurement: p.measurement,
    expiresAt,
    signature: approval,
  });
  const info = await registry.getWorker(phala, key.publicKey);
  if (info?.status.kind !== 'approved') throw new Error('worker not approved on the Phala chain');
  return {
    key,
    x25519,
    cluster: p.cluster,
    measurement: p.measurement,
    expiresAt,
    registeredAt: info.registeredAt,
    approval,
  };
}

/** Copies a worker's approval (the same gatekeeper signature) to the sibling's ConfidentialClient. */
export async function approveOnSibling(t: TestRelayDevnet, worker: ApprovedWorker): Promise<DecodedEvent[]> {
  const api = t.sibling.api;
  const result = await submit(
    t.sibling,
    api.tx.confidentialClient!.approveWorker!(
      worker.key.publicKey,
      worker.x25519,
      worker.cluster,
      worker.measurement,
      worker.expiresAt,
      worker.registeredAt,
      [worker.approval],
    ),
    t.bob.sibling,
  );
  return result.events;
}

export async function trustGatekeeperOnSibling(t: TestRelayDevnet, gatekeeper: KeyPair): Promise<void> {
  await submitSudo(
    t.sibling,
    t.sibling.api.tx.confidentialClient!.addGatekeeper!(gatekeeper.publicKey),
    t.alice.sibling,
  );
}

/** Uploads a contract and instantiates it in `cluster` on the Phala chain; returns its id. */
export async function deployContract(t: TestRelayDevnet, cluster: Hex, salt: Hex): Promise<Hex> {
  const code = `export function handle(input) { return { public: input, sealed: input }; } // ${salt}`;
  const uploaded = await contracts.uploadCode(t.phala, {
    signer: t.alice.phala,
    code: `0x${Buffer.from(code).toString('hex')}`,
  });
  const codeHash = uploaded.event.codeHash as Hex;
  const instantiated = await contracts.instantiate(t.phala, {
    signer: t.alice.phala,
    codeHash,
    cluster,
    salt,
  });
  return instantiated.event.contractId as Hex;
}
