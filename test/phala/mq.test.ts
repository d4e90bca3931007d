import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { type MessageSender, mq, registry } from '../../src/phala/index.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { type Actor, addGatekeeper, approvedWorker, newActor, randomHash } from './setup.js';

/** PhalaMq: signed messages, one sequence per sender; replays and gaps are refused. */

let t: TestNode;
let gatekeeper: Actor;
let worker: Actor;
const measurement = randomHash();

beforeAll(async () => {
  t = await startTestNode();
  gatekeeper = await newActor(t);
  await addGatekeeper(t, gatekeeper);
  await registry.addMeasurement(t.client, { sudo: t.alice, measurement });
  worker = await approvedWorker(t, { gatekeeper, measurement, cluster: randomHash() });
});
afterAll(async () => {
  await t?.stop();
});

function message(by: Actor, sender: MessageSender, sequence: bigint, payload: Hex = '0x7061796c6f6164') {
  const destination = '0x2f6b6579732f68616e646f766572' as Hex;
  return {
    sender,
    destination,
    sequence,
    payload,
    signature: mq.signMessage(t.client, {
      secretKey: by.identity.signing.secretKey,
      sender,
      destination,
      sequence,
      payload,
    }),
  };
}

describe('PhalaMq', () => {
  it('accepts each sender sequence once and in order', async () => {
    const sender: MessageSender = { kind: 'worker', key: worker.identity.signing.publicKey };
    expect(await mq.nextSequence(t.client, sender)).toBe(0n);
    const first = await mq.pushMessage(t.client, { signer: t.bob, message: message(worker, sender, 0n) });
    expect(first.event).toMatchObject({
      type: 'MessageReceived',
      sender: { kind: 'worker', key: worker.key },
      sequence: 0n,
      payload: '0x7061796c6f6164',
    });
    expect(await mq.nextSequence(t.client, sender)).toBe(1n);
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(worker, sender, 0n) }),
    ).rejects.toMatchObject({
      pallet: 'PhalaMq',
      error: 'SequenceReplayed',
    });
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(worker, sender, 2n) }),
    ).rejects.toMatchObject({
      error: 'SequenceGap',
    });
    await mq.pushMessage(t.client, { signer: worker.signer, message: message(worker, sender, 1n) });
    expect(await mq.nextSequence(t.client, sender)).toBe(2n);
  });

  it('keeps gatekeeper sequences apart from worker sequences', async () => {
    const sender: MessageSender = { kind: 'gatekeeper', key: gatekeeper.identity.signing.publicKey };
    const result = await mq.pushMessage(t.client, {
      signer: t.bob,
      message: message(gatekeeper, sender, 0n),
    });
    expect(result.event.sender).toEqual({ kind: 'gatekeeper', key: gatekeeper.key });
  });

  it('refuses forged, unknown, unapproved and oversized messages', async () => {
    const sender: MessageSender = { kind: 'worker', key: worker.identity.signing.publicKey };
    const next = await mq.nextSequence(t.client, sender);
    // Signed by the gatekeeper in the worker's name.
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(gatekeeper, sender, next) }),
    ).rejects.toMatchObject({
      error: 'BadSignature',
    });
    const stranger = await newActor(t, 0n);
    const strangerSender: MessageSender = { kind: 'worker', key: stranger.identity.signing.publicKey };
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(stranger, strangerSender, 0n) }),
    ).rejects.toMatchObject({
      error: 'UnknownSender',
    });
    await expect(
      mq.pushMessage(t.client, {
        signer: t.bob,
        message: message(stranger, { kind: 'gatekeeper', key: stranger.identity.signing.publicKey }, 0n),
      }),
    ).rejects.toMatchObject({ error: 'UnknownSender' });
    const pending = await newActor(t);
    await registry.registerWorker(t.client, {
      signer: pending.signer,
      x25519: pending.x25519,
      cluster: randomHash(),
      attestation: '0x01',
    });
    const pendingSender: MessageSender = { kind: 'worker', key: pending.identity.signing.publicKey };
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(pending, pendingSender, 0n) }),
    ).rejects.toMatchObject({
      error: 'SenderNotApproved',
    });
    const big = `0x${'00'.repeat(64 * 1024 + 1)}` as Hex;
    await expect(
      mq.pushMessage(t.client, { signer: t.bob, message: message(worker, sender, next, big) }),
    ).rejects.toMatchObject({
      error: 'MessageTooLarge',
    });
  });
});
