import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts, registry } from '../../src/phala/index.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { type Actor, addGatekeeper, approvedWorker, chainSeconds, newActor, randomHash } from './setup.js';

/** PhalaRegistry through the typed client: every call's success and error paths. */

let t: TestNode;
let gatekeeper: Actor;
let gatekeeper2: Actor;
const measurement = randomHash();
const cluster = randomHash();

beforeAll(async () => {
  t = await startTestNode();
  [gatekeeper, gatekeeper2] = await Promise.all([newActor(t), newActor(t)]);
});
afterAll(async () => {
  await t?.stop();
});

describe('administration (root)', () => {
  it('adds gatekeepers and measurements through sudo', async () => {
    await addGatekeeper(t, gatekeeper);
    const info = await registry.getGatekeeper(t.client, gatekeeper.key);
    expect(info?.x25519).toBe(gatekeeper.x25519);
    await registry.addMeasurement(t.client, { sudo: t.alice, measurement });
    expect(await registry.isMeasurementAllowed(t.client, measurement)).toBe(true);
    expect(await registry.listMeasurements(t.client)).toContain(measurement);
    expect((await registry.listGatekeepers(t.client)).map((g) => g.gatekeeper)).toContain(gatekeeper.key);
  });

  it('refuses duplicates, unknown entries, bad keys and non-root origins', async () => {
    await expect(addGatekeeper(t, gatekeeper)).rejects.toMatchObject({
      pallet: 'PhalaRegistry',
      error: 'GatekeeperExists',
    });
    await expect(registry.addMeasurement(t.client, { sudo: t.alice, measurement })).rejects.toMatchObject({
      error: 'MeasurementExists',
    });
    await expect(
      registry.removeMeasurement(t.client, { sudo: t.alice, measurement: randomHash() }),
    ).rejects.toMatchObject({
      error: 'MeasurementNotFound',
    });
    await expect(
      registry.addGatekeeper(t.client, {
        sudo: t.alice,
        gatekeeper: `0x04${'11'.repeat(32)}`,
        x25519: randomHash(),
        account: randomHash(),
      }),
    ).rejects.toMatchObject({ error: 'InvalidPublicKey' });
    await expect(
      registry.removeGatekeeper(t.client, { sudo: t.alice, gatekeeper: gatekeeper2.key }),
    ).rejects.toMatchObject({
      error: 'GatekeeperNotFound',
    });
    await expect(
      registry.setApprovalThreshold(t.client, { sudo: t.alice, threshold: 5 }),
    ).rejects.toMatchObject({
      error: 'InvalidThreshold',
    });
    // Not through sudo: the origin is signed, not root.
    const direct = t.api.tx.phalaRegistry.addMeasurement!(randomHash());
    const { submit } = await import('../../src/phala/client.js');
    await expect(submit(t.client, direct, t.bob)).rejects.toMatchObject({
      pallet: 'DispatchError',
      error: 'BadOrigin',
    });
    // Sudo from a non-sudo account.
    await expect(
      registry.addMeasurement(t.client, { sudo: t.bob, measurement: randomHash() }),
    ).rejects.toMatchObject({
      pallet: 'Sudo',
      error: 'RequireSudo',
    });
  });
});

describe('workers', () => {
  it('registers a worker from its own ecdsa account, and only from it', async () => {
    const worker = await newActor(t);
    const result = await registry.registerWorker(t.client, {
      signer: worker.signer,
      x25519: worker.x25519,
      cluster,
      attestation: '0xaabbcc',
    });
    expect(result.event).toMatchObject({
      type: 'WorkerRegistered',
      worker: worker.key,
      cluster,
      x25519: worker.x25519,
      attestation: '0xaabbcc',
    });
    const info = await registry.getWorker(t.client, worker.key);
    expect(info).toMatchObject({ cluster, attestation: '0xaabbcc', status: { kind: 'pending' } });
    expect(info?.operator).toBe(
      u8aToHex(t.api.registry.createType('AccountId', worker.signer.address).toU8a()),
    );
    // Someone else claiming the worker's key.
    const claim = t.api.tx.phalaRegistry.registerWorker!(worker.key, worker.x25519, cluster, '0x01');
    const { submit } = await import('../../src/phala/client.js');
    await expect(submit(t.client, claim, t.bob)).rejects.toMatchObject({ error: 'NotWorkerAccount' });
    await expect(
      registry.registerWorker(t.client, {
        signer: worker.signer,
        x25519: worker.x25519,
        cluster,
        attestation: '0x',
      }),
    ).rejects.toMatchObject({ error: 'InvalidAttestation' });
  });

  it('approves with a gatekeeper signature, and refuses bad ones', async () => {
    const worker = await newActor(t);
    await registry.registerWorker(t.client, {
      signer: worker.signer,
      x25519: worker.x25519,
      cluster,
      attestation: '0x01',
    });
    const expiresAt = (await chainSeconds(t)) + 600n;
    const sign = (secretKey: Uint8Array, m = measurement, expiry = expiresAt) =>
      registry.signWorkerApproval(t.client, {
        gatekeeperSecretKey: secretKey,
        worker: worker.key,
        measurement: m,
        expiresAt: expiry,
      });
    const approve = (signature: `0x${string}`, m = measurement, expiry = expiresAt) =>
      registry.approveWorker(t.client, {
        signer: t.bob,
        worker: worker.key,
        measurement: m,
        expiresAt: expiry,
        signature,
      });

    // Signed by someone who is not a gatekeeper.
    await expect(approve(await sign(worker.identity.signing.secretKey))).rejects.toMatchObject({
      error: 'BadGatekeeperSignature',
    });
    // A signature over other fields than submitted.
    await expect(
      approve(await sign(gatekeeper.identity.signing.secretKey), measurement, expiresAt + 1n),
    ).rejects.toMatchObject({
      error: 'BadGatekeeperSignature',
    });
    const other = randomHash();
    await expect(
      approve(await sign(gatekeeper.identity.signing.secretKey, other), other),
    ).rejects.toMatchObject({
      error: 'MeasurementNotAllowed',
    });
    const past = (await chainSeconds(t)) - 1n;
    await expect(
      approve(await sign(gatekeeper.identity.signing.secretKey, measurement, past), measurement, past),
    ).rejects.toMatchObject({
      error: 'ExpiryInPast',
    });
    const ok = await approve(await sign(gatekeeper.identity.signing.secretKey));
    expect(ok.event).toMatchObject({
      type: 'WorkerApprovalAdded',
      worker: worker.key,
      gatekeeper: gatekeeper.key,
      approvals: 1,
    });
    const approved = ok.events.find((e) => e.name === 'WorkerApproved');
    expect(approved?.fields).toMatchObject({
      worker: worker.key,
      measurement,
      expiresAt: expiresAt.toString(),
    });
    expect((await registry.getWorker(t.client, worker.key))?.status).toEqual({
      kind: 'approved',
      measurement,
      expiresAt,
      approvedAt: ok.blockNumber,
    });
  });

  it('binds approvals to the registration: a re-registration needs a new approval', async () => {
    const worker = await approvedWorker(t, { gatekeeper, measurement, cluster });
    const expiresAt = (await chainSeconds(t)) + 600n;
    const oldSignature = await registry.signWorkerApproval(t.client, {
      gatekeeperSecretKey: gatekeeper.identity.signing.secretKey,
      worker: worker.key,
      measurement,
      expiresAt,
    });
    await registry.registerWorker(t.client, {
      signer: worker.signer,
      x25519: worker.x25519,
      cluster,
      attestation: '0x02',
    });
    expect((await registry.getWorker(t.client, worker.key))?.status.kind).toBe('pending');
    await expect(
      registry.approveWorker(t.client, {
        signer: t.bob,
        worker: worker.key,
        measurement,
        expiresAt,
        signature: oldSignature,
      }),
    ).rejects.toMatchObject({ error: 'BadGatekeeperSignature' });
  });

  it('needs k of n approvals when the threshold is raised', async () => {
    await addGatekeeper(t, gatekeeper2);
    await registry.setApprovalThreshold(t.client, { sudo: t.alice, threshold: 2 });
    expect(await registry.getApprovalThreshold(t.client)).toBe(2);
    const worker = await newActor(t);
    await registry.registerWorker(t.client, {
      signer: worker.signer,
      x25519: worker.x25519,
      cluster,
      attestation: '0x01',
    });
    const expiresAt = (await chainSeconds(t)) + 900n;
    for (const [i, gk] of [gatekeeper, gatekeeper2].entries()) {
      const signature = await registry.signWorkerApproval(t.client, {
        gatekeeperSecretKey: gk.identity.signing.secretKey,
        worker: worker.key,
        measurement,
        expiresAt: expiresAt + BigInt(i),
      });
      const result = await registry.approveWorker(t.client, {
        signer: gk.signer,
        worker: worker.key,
        measurement,
        expiresAt: expiresAt + BigInt(i),
        signature,
      });
      expect(result.event.approvals).toBe(i + 1);
      const status = (await registry.getWorker(t.client, worker.key))?.status;
      if (i === 0) expect(status?.kind).toBe('pending');
      // Approved until the earliest expiry of the approvals.
      else expect(status).toMatchObject({ kind: 'approved', expiresAt });
    }
    await registry.setApprovalThreshold(t.client, { sudo: t.alice, threshold: 1 });
  });

  it('rejects and revokes with a reason', async () => {
    const worker = await newActor(t);
    await registry.registerWorker(t.client, {
      signer: worker.signer,
      x25519: worker.x25519,
      cluster,
      attestation: '0x01',
    });
    const reason = 'measurement not allowed';
    const signature = await registry.signWorkerRejection(t.client, {
      gatekeeperSecretKey: gatekeeper.identity.signing.secretKey,
      worker: worker.key,
      reason,
    });
    const rejected = await registry.rejectWorker(t.client, {
      signer: t.bob,
      worker: worker.key,
      reason,
      signature,
    });
    expect(rejected.event).toMatchObject({ type: 'WorkerRejected', worker: worker.key, reason });
    expect((await registry.getWorker(t.client, worker.key))?.status).toEqual({ kind: 'rejected', reason });
    // A rejected worker cannot be approved; it must register again.
    const expiresAt = (await chainSeconds(t)) + 600n;
    const approval = await registry.signWorkerApproval(t.client, {
      gatekeeperSecretKey: gatekeeper.identity.signing.secretKey,
      worker: worker.key,
      measurement,
      expiresAt,
    });
    await expect(
      registry.approveWorker(t.client, {
        signer: t.bob,
        worker: worker.key,
        measurement,
        expiresAt,
        signature: approval,
      }),
    ).rejects.toMatchObject({
      error: 'WorkerNotPending',
    });

    const active = await approvedWorker(t, { gatekeeper, measurement, cluster });
    const revokeSig = await registry.signWorkerRevocation(t.client, {
      gatekeeperSecretKey: gatekeeper.identity.signing.secretKey,
      worker: active.key,
      reason: 'expired quote',
    });
    const revoked = await registry.revokeWorker(t.client, {
      signer: t.bob,
      worker: active.key,
      reason: 'expired quote',
      signature: revokeSig,
    });
    expect(revoked.event).toMatchObject({ type: 'WorkerRevoked', reason: 'expired quote' });
    expect((await registry.getWorker(t.client, active.key))?.status).toEqual({
      kind: 'revoked',
      reason: 'expired quote',
    });

    const other = await approvedWorker(t, { gatekeeper, measurement, cluster });
    await registry.forceRevokeWorker(t.client, { sudo: t.alice, worker: other.key, reason: 'root' });
    expect((await registry.getWorker(t.client, other.key))?.status.kind).toBe('revoked');
    await expect(
      registry.revokeWorker(t.client, {
        signer: t.bob,
        worker: `0x02${randomHash().slice(2)}`,
        reason: 'x',
        signature: revokeSig,
      }),
    ).rejects.toMatchObject({
      error: 'WorkerNotFound',
    });
    expect((await registry.listWorkers(t.client)).length).toBeGreaterThan(3);
  });
});

describe('keys', () => {
  it('publishes contract keys only under a master key epoch, for existing contracts', async () => {
    const code = await contracts.uploadCode(t.client, { signer: t.alice, code: '0x636f6465' });
    const inst = await contracts.instantiate(t.client, {
      signer: t.alice,
      codeHash: code.event.codeHash,
      cluster,
      salt: '0x01',
    });
    const contractId = inst.event.contractId;
    const publicKey = randomHash();
    const sk = gatekeeper.identity.signing.secretKey;
    const publish = (epoch: bigint, key = publicKey, id = contractId) =>
      registry.publishContractKey(t.client, {
        signer: gatekeeper.signer,
        contractId: id,
        publicKey: key,
        epoch,
        signature: registry.signContractKeyPublication(t.client, {
          gatekeeperSecretKey: sk,
          contractId: id,
          publicKey: key,
          epoch,
        }),
      });
    await expect(publish(0n)).rejects.toMatchObject({ error: 'NoMasterKey' });

    const master = '0x02aa';
    const rotated = await registry.rotateMasterKey(t.client, {
      signer: gatekeeper.signer,
      publicKey: master,
      epoch: 1n,
      signature: registry.signMasterKeyRotation(t.client, {
        gatekeeperSecretKey: sk,
        publicKey: master,
        epoch: 1n,
      }),
    });
    expect(rotated.event).toMatchObject({
      type: 'MasterKeyRotated',
      epoch: 1n,
      publicKey: master,
      gatekeeper: gatekeeper.key,
    });
    expect(await registry.getMasterKey(t.client)).toMatchObject({ publicKey: master, epoch: 1n });
    await expect(
      registry.rotateMasterKey(t.client, {
        signer: gatekeeper.signer,
        publicKey: master,
        epoch: 1n,
        signature: registry.signMasterKeyRotation(t.client, {
          gatekeeperSecretKey: sk,
          publicKey: master,
          epoch: 1n,
        }),
      }),
    ).rejects.toMatchObject({ error: 'StaleEpoch' });
    await expect(
      registry.rotateMasterKey(t.client, {
        signer: gatekeeper.signer,
        publicKey: master,
        epoch: 2n,
        signature: registry.signMasterKeyRotation(t.client, {
          gatekeeperSecretKey: randomKey(),
          publicKey: master,
          epoch: 2n,
        }),
      }),
    ).rejects.toMatchObject({ error: 'BadGatekeeperSignature' });

    await expect(publish(1n, publicKey, randomHash())).rejects.toMatchObject({ error: 'ContractNotFound' });
    await expect(publish(2n)).rejects.toMatchObject({ error: 'EpochNotRotated' });
    const published = await publish(1n);
    expect(published.event).toMatchObject({ type: 'ContractKeyPublished', contractId, epoch: 1n, publicKey });
    expect(await registry.getContractKey(t.client, contractId)).toMatchObject({
      publicKey,
      epoch: 1n,
      publishedBy: gatekeeper.key,
    });
    expect(await registry.getContractKeyAt(t.client, contractId, 1n)).toBe(publicKey);
    await expect(publish(1n, randomHash())).rejects.toMatchObject({ error: 'ContractKeyConflict' });
  });
});

function randomKey(): Uint8Array {
  for (;;) {
    const k = crypto.getRandomValues(new Uint8Array(32));
    if (k[0]! < 0xf0) return k;
  }
}
