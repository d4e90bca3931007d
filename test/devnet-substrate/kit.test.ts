import { ApiPromise, WsProvider } from '@polkadot/api';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { composeChain } from '../../src/devnet/substrate/chains/compose.js';
import { devAccounts } from '../../src/devnet/substrate/chains/dev-accounts.js';
import { phalaPalletsWith } from '../../src/devnet/substrate/chains/phala-pallets.js';
import { phalaChainSpec } from '../../src/devnet/substrate/chains/phala.js';
import { foreignType, polkadotMetadataSource } from '../../src/devnet/substrate/metadata/foreign.js';
import { type DevNode, startDevNode } from '../../src/devnet/substrate/node.js';
import type { RequestOriginExtension } from '../../src/devnet/substrate/pallets/phala/contracts.js';
import { DispatchFailure } from '../../src/devnet/substrate/runtime/errors.js';
import { call, defineEvents, definePallet } from '../../src/devnet/substrate/runtime/pallet.js';
import type { RuntimeRefs } from '../../src/devnet/substrate/runtime/refs.js';
import {
  balances,
  contracts,
  createPhalaClient,
  registry,
  requestIdOf,
  submitSudo,
} from '../../src/phala/index.js';
import type { PhalaClient } from '../../src/phala/client.js';
import { devSigner } from '../../src/phala/signers.js';
import type { TestNode } from './helpers.js';
import { type Actor, addGatekeeper, approvedWorker, newActor, randomHash } from '../phala/setup.js';

/**
 * The chain kit, as the XCM layer will use it: a type imported from Polkadot's metadata (XCM v4
 * `Location`), a new request origin variant with its response hook, and a pallet of the test's own
 * that dispatches a call with an XCM origin (what an XCM `Transact` does).
 */

let node: DevNode;
let api: ApiPromise;
let client: PhalaClient;
const responses: { requestId: Hex; origin: unknown; publicOutput: Hex }[] = [];

function xcmTestPallet(refs: RuntimeRefs, Location: ReturnType<typeof foreignType>) {
  const events = defineEvents('XcmTest', 'pallet_xcm_test', {
    Transacted: { fields: { origin: Location } },
  });
  return definePallet({
    name: 'XcmTest',
    crate: 'pallet_xcm_test',
    events,
    calls: {
      transact: call({
        args: { origin: Location, call: refs.call },
        weight: { refTime: 1_000_000n, proofSize: 0n },
        handler(ctx, a) {
          if (ctx.origin.kind !== 'root') throw DispatchFailure.badOrigin();
          const outcome = ctx.dispatch({ kind: 'xcm', location: a.origin }, a.call);
          if (!outcome.ok) throw new DispatchFailure(outcome.error);
          events.emit(ctx, 'Transacted', { origin: a.origin });
        },
      }),
    },
  });
}

beforeAll(async () => {
  const source = await polkadotMetadataSource();
  const Location = foreignType(source, 'staging_xcm::v4::location::Location');
  const xcm: RequestOriginExtension = {
    name: 'Xcm',
    index: 1,
    type: Location,
    fromDispatch: (origin) => (origin.kind === 'xcm' ? origin.location : undefined),
    isRequester: (origin, payload) =>
      origin.kind === 'xcm' && JSON.stringify(origin.location) === JSON.stringify(payload),
    onFulfilled: (_env, r) =>
      responses.push({
        requestId: u8aToHex(r.requestId) as Hex,
        origin: r.request.origin.value,
        publicOutput: u8aToHex(r.fulfillment.publicOutput) as Hex,
      }),
  };
  const spec = await phalaChainSpec({
    phalaPallets: phalaPalletsWith({ origins: [xcm] }),
    extraPallets: (refs) => [{ index: 31, pallet: xcmTestPallet(refs, Location) }],
  });
  node = await startDevNode({ chain: spec });
  api = await ApiPromise.create({ provider: new WsProvider(node.wsUrl), noInitWarn: true });
  client = await createPhalaClient({ api });
});
afterAll(async () => {
  await api?.disconnect();
  await node?.stop();
});

describe('composing a chain', () => {
  it('puts the imported type in the metadata under its real path', () => {
    const names = api.runtimeMetadata.asLatest.lookup.types.map((x) => x.type.path.join('::'));
    expect(names).toContain('staging_xcm::v4::location::Location');
    expect(names).toContain('staging_xcm::v4::junctions::Junctions');
    expect(api.tx.xcmTest.transact).toBeTypeOf('function');
  });

  it('records a request from an XCM origin and calls the response hook on fulfillment', async () => {
    const alice = await devSigner('Alice', 30);
    const t = { client, api, alice, node } as unknown as TestNode;
    const gatekeeper: Actor = await newActor(t);
    await addGatekeeper(t, gatekeeper);
    const measurement = randomHash();
    const cluster = randomHash();
    await registry.addMeasurement(client, { sudo: alice, measurement });
    const worker = await approvedWorker(t, { gatekeeper, measurement, cluster });
    const code = await contracts.uploadCode(client, { signer: alice, code: '0x0102' });
    const { event: inst } = await contracts.instantiate(client, {
      signer: alice,
      codeHash: code.event.codeHash,
      cluster,
      salt: '0x',
    });

    const location = {
      parents: 1,
      interior: { X2: [{ Parachain: 2000 }, { AccountId32: { network: null, id: `0x${'22'.repeat(32)}` } }] },
    };
    const deadline = await contracts.deadlineIn(client, 10);
    const inner = api.tx.phalaContracts.request!(inst.contractId, '0xabcd', randomHash(), deadline);
    const result = await submitSudo(client, api.tx.xcmTest.transact!(location, inner), alice);
    const submitted = result.events.find((e) => e.name === 'RequestSubmitted')!;
    expect(submitted.fields.origin).toEqual({
      Xcm: {
        parents: 1,
        interior: {
          X2: [{ Parachain: 2000 }, { AccountId32: { network: null, id: `0x${'22'.repeat(32)}` } }],
        },
      },
    });
    // The request id covers SCALE(RequestOrigin::Xcm(location)) = 0x01 ‖ SCALE(location).
    const locationType = api.registry.lookup.getTypeDef(
      api.runtimeMetadata.asLatest.lookup.types.find(
        (x) => x.type.path.join('::') === 'staging_xcm::v4::location::Location',
      )!.id,
    );
    const encodedLocation = api.registry
      .createType(locationType.lookupName ?? locationType.type, location)
      .toU8a();
    const requestId = submitted.fields.requestId as Hex;
    const nonce = BigInt(submitted.fields.nonce as string);
    expect(
      u8aToHex(
        requestIdOf(
          { kind: 'encoded', bytes: u8aConcat([1], encodedLocation) },
          nonce,
          hexToU8a(inst.contractId),
          hexToU8a('0xabcd'),
        ),
      ),
    ).toBe(requestId);
    const stored = await contracts.getRequest(client, requestId);
    expect(stored?.origin.kind).toBe('xcm');

    const stateRoot = `0x${'00'.repeat(32)}` as Hex;
    const signature = contracts.signFulfillment(client, {
      workerSecretKey: worker.identity.signing.secretKey,
      requestId,
      publicOutput: '0x0a',
      sealedOutput: '0x0b',
      stateRoot,
    });
    await contracts.fulfill(client, {
      signer: alice,
      requestId,
      publicOutput: '0x0a',
      sealedOutput: '0x0b',
      stateRoot,
      signature,
    });
    expect(responses).toEqual([
      { requestId, origin: expect.objectContaining({ parents: 1 }), publicOutput: '0x0a' },
    ]);
  });
});

describe('several chains in one process', () => {
  it('runs a relay-style chain (no Phala pallets) beside the Phala chain, each with its own state', async () => {
    const accounts = await devAccounts(0);
    const relaySpec = composeChain({
      id: 'relay-devnet',
      name: 'Relay Devnet',
      crate: 'relay_devnet_runtime',
      version: {
        specName: 'relay-devnet',
        implName: 'phala-bridge-devnode',
        authoringVersion: 1,
        specVersion: 1,
        implVersion: 0,
        transactionVersion: 1,
        stateVersion: 1,
      },
      properties: { ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' },
      endowed: [[accounts.Alice.publicKey, 10n ** 16n]],
      sudoKey: accounts.Alice.publicKey,
    });
    const relay = await startDevNode({ chain: relaySpec });
    const relayApi = await ApiPromise.create({ provider: new WsProvider(relay.wsUrl), noInitWarn: true });
    try {
      expect(relayApi.runtimeVersion.specName.toString()).toBe('relay-devnet');
      expect(relayApi.tx.phalaContracts).toBeUndefined();
      expect(relayApi.genesisHash.toHex()).not.toBe(api.genesisHash.toHex());
      const relayClient = await createPhalaClient({ api: relayApi });
      const alice = await devSigner('Alice', 0);
      const r = await balances.transfer(relayClient, {
        signer: alice,
        to: accounts.Bob.address,
        amount: 10n ** 12n,
      });
      expect(r.events.map((e) => `${e.pallet}.${e.name}`)).toContain('Balances.Transfer');
      // The Phala chain next to it is untouched and still works.
      const bobOnPhala = await balances.freeBalance(client, accounts.Bob.address);
      expect(bobOnPhala).toBe(10n ** 18n);
    } finally {
      await relayApi.disconnect();
      await relay.stop();
    }
  });
});
