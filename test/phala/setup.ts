import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../../src/base/bytes.js';
import { type Identity, generateIdentity } from '../../src/crypto/keys.js';
import { balances, ecdsaSigner, registry } from '../../src/phala/index.js';
import type { TestNode } from '../devnet-substrate/helpers.js';

/** A worker or gatekeeper: its identity keys and the ecdsa account of its secp256k1 key. */
export type Actor = { identity: Identity; signer: KeyringPair; key: Hex; x25519: Hex };

export async function newActor(t: TestNode, fund = 10n ** 15n): Promise<Actor> {
  const identity = generateIdentity();
  const signer = await ecdsaSigner(identity.signing.secretKey, 30);
  if (fund > 0n) await balances.transfer(t.client, { signer: t.alice, to: signer.address, amount: fund });
  return {
    identity,
    signer,
    key: u8aToHex(identity.signing.publicKey) as Hex,
    x25519: u8aToHex(identity.encryption.publicKey) as Hex,
  };
}

export function randomHash(): Hex {
  return u8aToHex(crypto.getRandomValues(new Uint8Array(32))) as Hex;
}

/** Chain time in seconds (Timestamp.Now), which worker expiries are compared with. */
export async function chainSeconds(t: TestNode): Promise<bigint> {
  const now = (await t.api.query.timestamp.now()) as unknown as { toBigInt(): bigint };
  return now.toBigInt() / 1000n;
}

export async function addGatekeeper(t: TestNode, gatekeeper: Actor): Promise<void> {
  await registry.addGatekeeper(t.client, {
    sudo: t.alice,
    gatekeeper: gatekeeper.key,
    x25519: gatekeeper.x25519,
    account:
      gatekeeper.signer.publicKey.length === 32
        ? gatekeeper.signer.publicKey
        : t.api.registry.createType('AccountId', gatekeeper.signer.address).toU8a(),
  });
}

/** Registers `worker` in `cluster` and has `gatekeeper` approve it with `measurement`. */
export async function approvedWorker(
  t: TestNode,
  p: { gatekeeper: Actor; measurement: Hex; cluster: Hex; worker?: Actor; ttlSeconds?: bigint },
): Promise<Actor> {
  const worker = p.worker ?? (await newActor(t));
  await registry.registerWorker(t.client, {
    signer: worker.signer,
    x25519: worker.x25519,
    cluster: p.cluster,
    attestation: '0x01',
  });
  const expiresAt = (await chainSeconds(t)) + (p.ttlSeconds ?? 3600n);
  const signature = await registry.signWorkerApproval(t.client, {
    gatekeeperSecretKey: p.gatekeeper.identity.signing.secretKey,
    worker: worker.key,
    measurement: p.measurement,
    expiresAt,
  });
  await registry.approveWorker(t.client, {
    signer: p.gatekeeper.signer,
    worker: worker.key,
    measurement: p.measurement,
    expiresAt,
    signature,
  });
  return worker;
}
