import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, type Hex } from '../../src/base/bytes.js';
import { startRelayDevnet } from '../../src/devnet/relay-devnet.js';
import { Balances } from '../../src/devnet/substrate/pallets/balances.js';
import { parachainSystemStorage } from '../../src/devnet/xcm/pallets/parachain.js';
import { hrmpStorage } from '../../src/devnet/xcm/pallets/relay.js';
import { createPhalaClient, submit } from '../../src/phala/client.js';
import { submitSudo } from '../../src/phala/index.js';
import { encodeXcm } from '../../src/xcm/encode.js';
import type { JsonValue } from '../../src/xcm/json.js';
import { MemoryXcmTrackerStore, XcmTracker } from '../../src/xcm/index.js';
import {
  accountId32,
  here,
  type LocationJson,
  location,
  parachain,
  parent,
  sibling,
  siblingAccount,
} from '../../src/xcm/location.js';
import { sovereignAccountOf } from '../../src/xcm/sovereign.js';
import { PolkadotXcmEventSource } from '../../src/relayer/chains/xcm-source.js';
import { type TestRelayDevnet, eventIn, nextEvent, startTestRelayDevnet } from './helpers.js';

/**
 * UMP, DMP and HRMP on the three-chain devnet: who pays (sovereign accounts derived as Substrate
 * derives them), the events each chain emits (`polkadotXcm.Sent`, `xcmpQueue.XcmpMessageSent`,
 * `parachainSystem.UpwardMessageSent`, `messageQueue.Processed` with its origin), the relay chain
 * carrying HRMP and pruning what was processed, and a restart with a data dir losing nothing.
 */

let t: TestRelayDevnet;
let tracker: XcmTracker;
const AMOUNT = 10n ** 12n;
const account = (loc: JsonValue) => fromHex(sovereignAccountOf(loc)!.account, 'account', 32);
const beneficiary = (id: Uint8Array): LocationJson => location(0, [accountId32(u8aToHex(id) as Hex)]);
const native = { id: here(), fun: { fungible: AMOUNT.toString() } };
const payTo = (id: Uint8Array) =>
  encodeXcm({
    v5: [
      { withdrawAsset: [native] },
      { buyExecution: { fees: native, weightLimit: { unlimited: null } } },
      { depositAsset: { assets: { wild: { allCounted: 1 } }, beneficiary: beneficiary(id) } },
    ],
  });
const fresh = () => Uint8Array.from({ length: 32 }, () => Math.floor(Math.random() * 256));

beforeAll(async () => {
  t = await startTestRelayDevnet();
  tracker = new XcmTracker({
    store: new MemoryXcmTrackerStore(),
    sources: (['relay', 'phala', 'sibling'] as const).map(
      (chain) =>
        new PolkadotXcmEventSource({ chain, api: t[chain].api, topology: t.devnet.topology, startAt: 0 }),
    ),
  });
  await tracker.start();
});

afterAll(async () => {
  await tracker?.stop();
  await t?.stop();
});

function free(node: TestRelayDevnet['devnet']['relay']['node'], who: Uint8Array): bigint {
  return Balances.free(node.chain.env(), who);
}

describe('relay devnet routing', () => {
  it('UMP: a parachain pays on the relay chain from its sovereign account (b"para" ++ id)', async () => {
    const to = fresh();
    const sovereign = account(parachain(2000));
    const before = free(t.devnet.relay.node, sovereign);
    const processed = nextEvent(t.relay, 'messageQueue', 'Processed');
    const result = await submitSudo(
      t.sibling,
      t.sibling.api.tx.polkadotXcm!.send!({ v5: parent() }, payTo(to).json),
      t.alice.sibling,
    );
    const sent = eventIn(result.events, 'polkadotXcm', 'Sent');
    const upward = eventIn(result.events, 'parachainSystem', 'UpwardMessageSent');
    const id = sent.fields.messageId as Hex;
    const event = await processed;
    expect(event.fields.id).toBe(id);
    expect(event.fields.origin).toEqual({ Ump: { Para: 2000 } });
    expect(event.fields.success).toBe(true);
    expect(free(t.devnet.relay.node, sovereign)).toBe(before - AMOUNT);
    expect(free(t.devnet.relay.node, to)).toBeGreaterThan(AMOUNT - AMOUNT / 100n);
    const rec = await tracker.waitForFinal(id, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.hashes).toContain(upward.fields.messageHash);
    expect([rec.origin, rec.destination, rec.delivered?.chain, rec.delivered?.source]).toEqual([
      'sibling',
      'relay',
      'relay',
      'paraInherent.enter',
    ]);
  });

  it('DMP: the relay chain sends down; the parachain runs it with origin Parent', async () => {
    const to = fresh();
    const processed = nextEvent(t.phala, 'messageQueue', 'Processed');
    const result = await submitSudo(
      t.relay,
      t.relay.api.tx.xcmPallet!.send!({ v5: parachain(2035) }, payTo(to).json),
      t.alice.relay,
    );
    const id = eventIn(result.events, 'xcmPallet', 'Sent').fields.messageId as Hex;
    const event = await processed;
    expect([event.fields.id, event.fields.origin, event.fields.success]).toEqual([id, 'Parent', true]);
    expect(free(t.devnet.phala.node, to)).toBeGreaterThan(0n);
    const rec = await tracker.waitForFinal(id, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect([rec.origin, rec.destination, rec.delivered?.chain, rec.processed?.from]).toEqual([
      'relay',
      'phala',
      'phala',
      'Parent',
    ]);
  });

  it('HRMP: through the relay chain, from the sender’s sovereign account on the receiver (b"sibl" ++ id)', async () => {
    const to = fresh();
    const sovereign = account(sibling(2035));
    const before = free(t.devnet.sibling.node, sovereign);
    const processed = nextEvent(t.sibling, 'messageQueue', 'Processed');
    const result = await submitSudo(
      t.phala,
      t.phala.api.tx.polkadotXcm!.send!({ v5: sibling(2000) }, payTo(to).json),
      t.alice.phala,
    );
    const id = eventIn(result.events, 'polkadotXcm', 'Sent').fields.messageId as Hex;
    const hash = eventIn(result.events, 'xcmpQueue', 'XcmpMessageSent').fields.messageHash as Hex;
    const event = await processed;
    expect([event.fields.id, event.fields.origin, event.fields.success]).toEqual([
      id,
      { Sibling: 2035 },
      true,
    ]);
    expect(free(t.devnet.sibling.node, sovereign)).toBe(before - AMOUNT);
    expect(free(t.devnet.sibling.node, to)).toBeGreaterThan(0n);
    const rec = await tracker.waitForFinal(id, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(rec.hashes).toContain(hash);
    expect([rec.origin, rec.destination, rec.delivered?.chain]).toEqual(['phala', 'sibling', 'sibling']);
  });

  it('a signed sender gets DescendOrigin: fees come from the account its location controls there', async () => {
    const alice = t.alice.sibling.publicKey;
    const derived = account(siblingAccount(2000, u8aToHex(alice) as Hex));
    const before = free(t.devnet.phala.node, derived);
    const processed = nextEvent(t.phala, 'messageQueue', 'Processed');
    const result = await submit(
      t.sibling,
      t.sibling.api.tx.polkadotXcm!.send!({ v5: sibling(2035) }, payTo(fresh()).json),
      t.alice.sibling,
    );
    const sent = eventIn(result.events, 'polkadotXcm', 'Sent');
    expect(sent.fields.origin).toEqual({
      parents: 0,
      interior: { X1: [{ AccountId32: { network: null, id: u8aToHex(alice) } }] },
    });
    expect((sent.fields.message as unknown[])[0]).toHaveProperty('DescendOrigin');
    expect((await processed).fields.success).toBe(true);
    expect(free(t.devnet.phala.node, derived)).toBe(before - AMOUNT);
  });

  it('refuses sends it cannot route, as pallet_xcm does', async () => {
    await expect(
      submitSudo(
        t.sibling,
        t.sibling.api.tx.polkadotXcm!.send!({ v5: sibling(2000) }, payTo(fresh()).json),
        t.alice.sibling,
      ),
    ).rejects.toThrow(/Unreachable/);
    await expect(
      submitSudo(
        t.relay,
        t.relay.api.tx.xcmPallet!.send!({ v5: parachain(4444) }, payTo(fresh()).json),
        t.alice.relay,
      ),
    ).rejects.toThrow(/Unreachable/);
  });

  it('prunes the relay chain’s HRMP and DMP queues once the recipient has processed them', async () => {
    // Another relay block includes the recipients' latest candidates (their watermarks).
    await submitSudo(t.relay, t.relay.api.tx.system.remark('0x01'), t.alice.relay);
    const env = t.devnet.relay.node.chain.env();
    expect(hrmpStorage.HrmpChannelContents.get(env, { sender: 2035, recipient: 2000 })).toEqual([]);
    const watermark = hrmpStorage.HrmpWatermarks.get(env, 2000);
    const siblingEnv = t.devnet.sibling.node.chain.env();
    expect(watermark).toBeLessThanOrEqual(parachainSystemStorage.LastRelayChainBlockNumber.get(siblingEnv));
    expect(watermark).toBeGreaterThan(0);
  });
});

describe('relay devnet with a data dir', () => {
  it('restarts with every chain where it was, and delivers what was in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-devnet-'));
    try {
      const first = await startRelayDevnet({ dataDir: dir });
      const genesis = [first.relay.genesisHash, first.phala.genesisHash, first.sibling.genesisHash];
      // A message leaves the sibling while the router is stopped: it stays in the sibling's state.
      first.router.stop();
      const to = fresh();
      const client = await createPhalaClient({ url: first.sibling.wsUrl });
      await submitSudo(
        client,
        client.api.tx.polkadotXcm!.send!({ v5: parent() }, payTo(to).json),
        t.alice.sibling,
      );
      await client.api.disconnect();
      const heights = [first.relay, first.phala, first.sibling].map((c) => c.node.chain.best.number);
      await first.stop();

      const second = await startRelayDevnet({ dataDir: dir });
      try {
        expect([second.relay.genesisHash, second.phala.genesisHash, second.sibling.genesisHash]).toEqual(
          genesis,
        );
        expect([second.relay, second.phala, second.sibling].map((c) => c.node.chain.best.number)).toEqual(
          heights,
        );
        // The router finds the sibling block the relay chain has not included and carries it on.
        const deadline = Date.now() + 10_000;
        while (Balances.free(second.relay.node.chain.env(), to) === 0n && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(Balances.free(second.relay.node.chain.env(), to)).toBeGreaterThan(0n);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
