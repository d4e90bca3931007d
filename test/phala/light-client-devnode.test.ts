import { WsProvider } from '@polkadot/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { codeHashOf, contracts } from '../../src/phala/index.js';
import { LightClientError, SubstrateLightClient } from '../../src/phala/light-client/index.js';
import { type TestNode, startTestNode } from '../devnet-substrate/helpers.js';
import { randomHash } from './setup.js';

/**
 * The light client against a real dev node with three GRANDPA authorities: it follows the node's
 * justifications from the pinned genesis and reads PhalaContracts.Requests and System.Account
 * through verified read proofs, the bytes the node's own (untrusted) state_getStorage gives.
 */

let t: TestNode;
let light: SubstrateLightClient;
let provider: WsProvider;

beforeAll(async () => {
  t = await startTestNode({ grandpaAuthorities: ['//Alice', '//Bob', '//Charlie'] });
  provider = new WsProvider(t.node.wsUrl);
  await provider.isReady;
  const g = t.node.grandpa;
  light = SubstrateLightClient.fromProvider(
    {
      genesisHash: g.genesisHash,
      setId: g.setId,
      authorities: g.authorities.map(([id, weight]) => ({ id, weight })),
    },
    provider,
  );
});
afterAll(async () => {
  await provider?.disconnect();
  await t?.stop();
});

/** What the node itself says (the ground truth in this test, never for the client). */
const storage = async (key: Hex, at: Hex) =>
  (await provider.send('state_getStorage', [key, at])) as Hex | null;

describe('SubstrateLightClient on the dev node', () => {
  it('syncs from genesis through GRANDPA justifications', async () => {
    expect(t.node.grandpa.authorities).toHaveLength(3);
    const head = await light.sync();
    expect(head.number).toBeGreaterThanOrEqual(0);
    expect(light.header(t.node.grandpa.genesisHash)?.number).toBe(0);
  });

  it('reads a request and accounts with one verified read proof at a finalized block', async () => {
    const code = new TextEncoder().encode(
      `export function handle(i) { return { public: i }; } // ${randomHash()}`,
    );
    await contracts.uploadCode(t.client, { signer: t.alice, code });
    const { event } = await contracts.instantiate(t.client, {
      signer: t.alice,
      codeHash: toHex(codeHashOf(code)),
      cluster: randomHash(),
      salt: '0x01',
    });
    const deadline = await contracts.deadlineIn(t.client, 50);
    const request = await contracts.request(t.client, {
      signer: t.bob,
      contractId: event.contractId,
      sealedInput: '0xdeadbeef',
      responseKey: randomHash(),
      deadline,
    });
    const head = await light.waitFinalized(request.blockNumber, { timeoutMs: 20_000 });
    expect(head.number).toBeGreaterThanOrEqual(request.blockNumber);
    // the block the request landed in is on the verified chain (if still cached)
    const inBlock = light.header(request.blockHash);
    if (inBlock) expect(inBlock.number).toBe(request.blockNumber);

    const requestKey = t.api.query.phalaContracts!.requests!.key(request.event.requestId) as Hex;
    const aliceKey = t.api.query.system!.account!.key(t.alice.address) as Hex;
    const nobodyKey = t.api.query.system!.account!.key(randomHash()) as Hex;
    const missingRequestKey = t.api.query.phalaContracts!.requests!.key(randomHash()) as Hex;
    const keys = [requestKey, aliceKey, nobodyKey, missingRequestKey];
    const values = await light.readStorage(
      keys.map((k) => fromHex(k)),
      head.hash,
    );
    for (const key of keys) {
      const expected = await storage(key, head.hash);
      const got = values.get(key);
      expect(got === null ? null : toHex(got!)).toBe(expected);
    }
    expect(values.get(requestKey)).not.toBeNull();
    expect(values.get(aliceKey)).not.toBeNull();
    expect(values.get(nobodyKey)).toBeNull();
    expect(values.get(missingRequestKey)).toBeNull();
    const valueType = t.api.query.phalaContracts!.requests!.creator.meta.type.asMap.value;
    const decoded = t.api.registry.createType(
      t.api.registry.createLookupType(valueType),
      values.get(requestKey)!,
    );
    expect(decoded.toJSON()).toMatchObject({ sealedInput: '0xdeadbeef' });
  });

  it('refuses a client pinned to another authority set', async () => {
    const g = t.node.grandpa;
    const wrong = SubstrateLightClient.fromProvider(
      { genesisHash: g.genesisHash, authorities: [{ id: randomHash(), weight: 1 }] },
      provider,
    );
    await contracts.deadlineIn(t.client, 5);
    const error = await wrong.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LightClientError);
    expect((error as LightClientError).reason).toBe('signer-not-in-set');
  });
});
