import { type Hex, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ContractRegistration,
  type WorkerRegistration,
  contractRegistrationDigest,
  gatekeeperSetUpdateDigest,
  signTypedDigest,
  workerRegistrationDigest,
  workerRevocationDigest,
} from '../../src/crypto/proofs.js';
import { devnetGatekeepers } from '../../src/devnet/evm/setup.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { decodeGatewayLog } from '../../src/evm/gateway/events.js';
import {
  getContractInfo,
  getGatekeeperSet,
  getWorkerInfo,
  isWorkerAuthorized,
} from '../../src/evm/gateway/read.js';
import {
  encodeRegisterContract,
  encodeRegisterWorker,
  encodeRevokeWorker,
  encodeUpdateGatekeepers,
  orderGatekeeperSignatures,
  signAsGatekeepers,
} from '../../src/evm/gateway/registry.js';
import {
  type GatewayFixture,
  type Worker,
  gatewayErrorOf,
  gatewayFixture,
  makeWorker,
  rand32,
} from './fixture.js';

let f: GatewayFixture;

beforeAll(async () => {
  f = await gatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

const call = (data: Hex) =>
  f.clients.publicClient.call({ account: f.clients.walletClient.account, to: f.dev.gateway, data });

async function registration(w: Worker, over: Partial<WorkerRegistration> = {}): Promise<WorkerRegistration> {
  return {
    worker: w.address,
    measurement: rand32(),
    cluster: f.cluster,
    expiresAt: (await f.now()) + 3_600n,
    epoch: 0n,
    ...over,
  };
}

const workerDigest = (r: WorkerRegistration) => workerRegistrationDigest(f.dev.domain, r);
const authorized = (w: Worker, cluster = f.cluster) =>
  isWorkerAuthorized(f.clients.publicClient, { gateway: f.dev.gateway, worker: w.address, cluster });

describe('worker registration needs a threshold of distinct gatekeepers, in ascending order', () => {
  it('refuses too few signatures', async () => {
    const r = await registration(makeWorker());
    const one = signAsGatekeepers(workerDigest(r), f.gatekeeperKeys.slice(0, 1));
    expect(await gatewayErrorOf(call(encodeRegisterWorker({ registration: r, signatures: one })))).toBe(
      'TooFewSignatures',
    );
  });

  it('refuses the same gatekeeper signing twice', async () => {
    const r = await registration(makeWorker());
    const sig = signTypedDigest(workerDigest(r), f.gatekeeperKeys[0]!);
    expect(
      await gatewayErrorOf(call(encodeRegisterWorker({ registration: r, signatures: [sig, sig] }))),
    ).toBe('SignersNotAscending');
  });

  it('refuses signatures out of order', async () => {
    const r = await registration(makeWorker());
    const ordered = signAsGatekeepers(workerDigest(r), f.gatekeeperKeys.slice(0, 2));
    expect(
      await gatewayErrorOf(
        call(encodeRegisterWorker({ registration: r, signatures: [...ordered].reverse() })),
      ),
    ).toBe('SignersNotAscending');
  });

  it('refuses a signer outside the gatekeeper set', async () => {
    const r = await registration(makeWorker());
    const outsider = makeWorker();
    const sigs = orderGatekeeperSignatures(workerDigest(r), [
      signTypedDigest(workerDigest(r), f.gatekeeperKeys[0]!),
      signTypedDigest(workerDigest(r), outsider.secretKey),
    ]);
    expect(await gatewayErrorOf(call(encodeRegisterWorker({ registration: r, signatures: sigs })))).toBe(
      'NotAGatekeeper',
    );
  });

  it('refuses a wrong epoch and an expired registration', async () => {
    const w = makeWorker();
    const wrongEpoch = await registration(w, { epoch: 1n });
    expect(
      await gatewayErrorOf(
        call(
          encodeRegisterWorker({
            registration: wrongEpoch,
            signatures: signAsGatekeepers(workerDigest(wrongEpoch), f.gatekeeperKeys),
          }),
        ),
      ),
    ).toBe('WrongEpoch');
    const expired = await registration(w, { expiresAt: await f.now() });
    expect(
      await gatewayErrorOf(
        call(
          encodeRegisterWorker({
            registration: expired,
            signatures: signAsGatekeepers(workerDigest(expired), f.gatekeeperKeys),
          }),
        ),
      ),
    ).toBe('RegistrationExpired');
  });

  it('accepts every gatekeeper signing, renews with a later expiry, and refuses replays of older ones', async () => {
    const w = makeWorker();
    const first = await registration(w);
    const firstSigs = signAsGatekeepers(workerDigest(first), f.gatekeeperKeys);
    const receipt = await f.send(
      f.dev.gateway,
      encodeRegisterWorker({ registration: first, signatures: firstSigs }),
    );
    const [event] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'WorkerRegistered',
    });
    expect(event?.args).toMatchObject({
      worker: w.address,
      cluster: f.cluster,
      expiresAt: first.expiresAt,
      epoch: 0n,
    });
    expect(await authorized(w)).toBe(true);
    const renewal = { ...first, expiresAt: first.expiresAt + 3_600n };
    await f.send(
      f.dev.gateway,
      encodeRegisterWorker({
        registration: renewal,
        signatures: signAsGatekeepers(workerDigest(renewal), f.gatekeeperKeys),
      }),
    );
    expect(
      (await getWorkerInfo(f.clients.publicClient, { gateway: f.dev.gateway, worker: w.address })).expiresAt,
    ).toBe(renewal.expiresAt);
    expect(
      await gatewayErrorOf(call(encodeRegisterWorker({ registration: first, signatures: firstSigs }))),
    ).toBe('RegistrationSuperseded');
  });

  it('moves a worker to another cluster, ending its authorization in the first', async () => {
    const w = makeWorker();
    await f.registerWorker(w);
    const other = rand32();
    await f.registerWorker(w, { cluster: other, expiresAt: (await f.now()) + 200_000n });
    expect(await authorized(w)).toBe(false);
    expect(await authorized(w, other)).toBe(true);
  });
});

describe('revocation', () => {
  it('revokes, refuses the old registration again, accepts a newer one, and cannot be replayed against it', async () => {
    const w = makeWorker();
    const first = await registration(w);
    const firstSigs = signAsGatekeepers(workerDigest(first), f.gatekeeperKeys);
    await f.send(f.dev.gateway, encodeRegisterWorker({ registration: first, signatures: firstSigs }));
    const revocation = { worker: w.address, revokeUpTo: first.expiresAt, epoch: 0n };
    const revokeData = encodeRevokeWorker({
      revocation,
      signatures: signAsGatekeepers(workerRevocationDigest(f.dev.domain, revocation), f.gatekeeperKeys),
    });
    const receipt = await f.send(f.dev.gateway, revokeData);
    const [event] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'WorkerRevoked',
    });
    expect(event?.args).toMatchObject({ worker: w.address, cluster: f.cluster, revokeUpTo: first.expiresAt });
    expect(decodeGatewayLog(receipt.logs[0]!, f.dev.node.chainId)).toMatchObject({
      kind: 'WorkerRevoked',
      worker: w.address,
      revokeUpTo: first.expiresAt,
      epoch: 0n,
    });
    expect(await authorized(w)).toBe(false);
    expect(
      await gatewayErrorOf(call(encodeRegisterWorker({ registration: first, signatures: firstSigs }))),
    ).toBe('RegistrationSuperseded');
    const again = { ...first, expiresAt: first.expiresAt + 1n };
    await f.send(
      f.dev.gateway,
      encodeRegisterWorker({
        registration: again,
        signatures: signAsGatekeepers(workerDigest(again), f.gatekeeperKeys),
      }),
    );
    expect(await authorized(w)).toBe(true);
    await f.send(f.dev.gateway, revokeData); // a replayed revocation...
    expect(await authorized(w)).toBe(true); // ...does not touch the newer registration
  });

  it('needs the gatekeeper threshold too', async () => {
    const revocation = { worker: f.worker.address, revokeUpTo: 2n ** 64n - 1n, epoch: 0n };
    const one = signAsGatekeepers(
      workerRevocationDigest(f.dev.domain, revocation),
      f.gatekeeperKeys.slice(0, 1),
    );
    expect(await gatewayErrorOf(call(encodeRevokeWorker({ revocation, signatures: one })))).toBe(
      'TooFewSignatures',
    );
  });
});

describe('contract registration', () => {
  it('records the cluster and public key, once per epoch', async () => {
    const reg: ContractRegistration = {
      contractId: rand32(),
      cluster: f.cluster,
      publicKey: rand32(),
      epoch: 0n,
    };
    const sigs = signAsGatekeepers(contractRegistrationDigest(f.dev.domain, reg), f.gatekeeperKeys);
    const receipt = await f.send(
      f.dev.gateway,
      encodeRegisterContract({ registration: reg, signatures: sigs }),
    );
    const [event] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'ContractRegistered',
    });
    expect(event?.args).toMatchObject(reg);
    expect(
      await getContractInfo(f.clients.publicClient, { gateway: f.dev.gateway, contractId: reg.contractId }),
    ).toEqual({
      cluster: reg.cluster,
      publicKey: reg.publicKey,
      epoch: 0n,
      nonce: 0n,
      registered: true,
    });
    const moved = { ...reg, cluster: rand32() };
    const movedSigs = signAsGatekeepers(contractRegistrationDigest(f.dev.domain, moved), f.gatekeeperKeys);
    expect(
      await gatewayErrorOf(call(encodeRegisterContract({ registration: moved, signatures: movedSigs }))),
    ).toBe('RegistrationSuperseded');
  });
});

describe('gatekeeper set changes', () => {
  it('hands over to a new set at epoch + 1, signed by the current set', async () => {
    const next = devnetGatekeepers(5).slice(2); // a partly new set of three
    const update = { gatekeepers: next.map((g) => g.address), threshold: 3, epoch: 1n };
    const sigs = signAsGatekeepers(gatekeeperSetUpdateDigest(f.dev.domain, update), f.gatekeeperKeys);
    const skipEpoch = { ...update, epoch: 2n };
    expect(
      await gatewayErrorOf(
        call(
          encodeUpdateGatekeepers({
            update: skipEpoch,
            signatures: signAsGatekeepers(
              gatekeeperSetUpdateDigest(f.dev.domain, skipEpoch),
              f.gatekeeperKeys,
            ),
          }),
        ),
      ),
    ).toBe('WrongEpoch');
    const bySuccessors = signAsGatekeepers(
      gatekeeperSetUpdateDigest(f.dev.domain, update),
      next.map((g) => g.secretKey),
    );
    expect(await gatewayErrorOf(call(encodeUpdateGatekeepers({ update, signatures: bySuccessors })))).toBe(
      'NotAGatekeeper',
    );
    const unsorted = { ...update, gatekeepers: [...update.gatekeepers].reverse() };
    expect(
      await gatewayErrorOf(
        call(
          encodeUpdateGatekeepers({
            update: unsorted,
            signatures: signAsGatekeepers(
              gatekeeperSetUpdateDigest(f.dev.domain, unsorted),
              f.gatekeeperKeys,
            ),
          }),
        ),
      ),
    ).toBe('InvalidGatekeeperSet');

    const updated = await f.send(f.dev.gateway, encodeUpdateGatekeepers({ update, signatures: sigs }));
    expect(decodeGatewayLog(updated.logs[0]!, f.dev.node.chainId)).toMatchObject({
      kind: 'GatekeepersUpdated',
      epoch: 1n,
      gatekeepers: update.gatekeepers,
      threshold: 3,
      id: `evm:${f.dev.node.chainId}:${f.dev.gateway.toLowerCase()}:GatekeepersUpdated:1`,
    });
    expect(await getGatekeeperSet(f.clients.publicClient, { gateway: f.dev.gateway })).toEqual({
      members: update.gatekeepers,
      threshold: 3,
      epoch: 1n,
    });
    // Workers registered before stay registered.
    expect(await authorized(f.worker)).toBe(true);
    // Old-epoch registrations and old gatekeepers no longer count.
    const w = makeWorker();
    const old = await registration(w);
    expect(
      await gatewayErrorOf(
        call(
          encodeRegisterWorker({
            registration: old,
            signatures: signAsGatekeepers(workerDigest(old), f.gatekeeperKeys),
          }),
        ),
      ),
    ).toBe('WrongEpoch');
    const current = await registration(w, { epoch: 1n });
    const removed = f.dev.gatekeepers.filter((g) => !update.gatekeepers.includes(g.address));
    const withRemoved = signAsGatekeepers(workerDigest(current), [
      ...next.slice(0, 2).map((g) => g.secretKey),
      removed[0]!.secretKey,
    ]);
    expect(
      await gatewayErrorOf(call(encodeRegisterWorker({ registration: current, signatures: withRemoved }))),
    ).toBe('NotAGatekeeper');
    await f.send(
      f.dev.gateway,
      encodeRegisterWorker({
        registration: current,
        signatures: signAsGatekeepers(
          workerDigest(current),
          next.map((g) => g.secretKey),
        ),
      }),
    );
    expect(await authorized(w)).toBe(true);
  });
});
