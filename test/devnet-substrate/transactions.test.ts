import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawRpc, type TestNode, notificationOf, startTestNode, statusName } from './helpers.js';

/**
 * The transaction pool and the invalid-transaction errors, on a node that makes blocks only when
 * told (so the pool can be inspected), with a short BlockHashCount (8) to reach ancient births.
 */

let t: TestNode;
let raw: RawRpc;

beforeAll(async () => {
  t = await startTestNode({ manualSeal: true, phala: { blockHashCount: 8 } });
  raw = new RawRpc(t.node.wsUrl);
  await raw.opened;
});
afterAll(async () => {
  raw?.close();
  await t?.stop();
});

async function nonceOf(pair: KeyringPair): Promise<number> {
  return (await t.api.rpc.system.accountNextIndex(pair.address)).toNumber();
}

async function signedRemark(pair: KeyringPair, nonce: number, extra: Record<string, unknown> = {}) {
  return t.api.tx.system.remark('0x00').signAsync(pair, { nonce, ...extra });
}

async function submitRaw(hex: string) {
  return raw.call('author_submitExtrinsic', [hex]);
}

async function block() {
  return t.node.chain.produceBlock();
}

describe('invalid transactions', () => {
  it('refuses an outdated nonce: 1010 Transaction is outdated', async () => {
    const nonce = await nonceOf(t.alice);
    const first = await signedRemark(t.alice, nonce);
    expect((await submitRaw(first.toHex())).result).toBe(first.hash.toHex());
    await block();
    const again = await signedRemark(t.alice, nonce);
    const res = await submitRaw(again.toHex());
    expect(res.error).toEqual({
      code: 1010,
      message: 'Invalid Transaction',
      data: 'Transaction is outdated',
    });
  });

  it('refuses a bad signature: 1010 Transaction has a bad signature', async () => {
    const tx = await signedRemark(t.alice, await nonceOf(t.alice));
    const bytes = tx.toU8a();
    const prefix = compactToU8a(bytes.length - compactToU8a(bytes.length).length).length;
    // version (1) ‖ MultiAddress::Id (1 + 32) ‖ MultiSignature tag (1) ‖ signature: flip a byte in it
    bytes[prefix + 1 + 33 + 1 + 10]! ^= 0x01;
    const res = await submitRaw(u8aToHex(bytes));
    expect(res.error).toEqual({
      code: 1010,
      message: 'Invalid Transaction',
      data: 'Transaction has a bad signature',
    });
  });

  it('refuses an unknown call and undecodable bytes: 1002 / 1001', async () => {
    // An unsigned extrinsic whose call names pallet 0xEE.
    const body = Uint8Array.of(0x04, 0xee, 0x00);
    const unknown = await submitRaw(u8aToHex(u8aConcat(compactToU8a(body.length), body)));
    expect(unknown.error?.code).toBe(1002);
    expect(unknown.error?.message).toContain("Could not decode `RuntimeCall`, variant doesn't exist");
    for (const bad of ['0x1234', '0x04', `0x${'ff'.repeat(40)}`]) {
      const res = await submitRaw(bad);
      expect(res.error?.code, bad).toBe(1001);
      expect(res.error?.message).toMatch(/^Extrinsic has invalid format/);
    }
    const truncated = (await signedRemark(t.alice, await nonceOf(t.alice))).toU8a();
    const cut = truncated.subarray(0, truncated.length - 3);
    expect((await submitRaw(u8aToHex(cut))).error?.code).toBe(1001);
    const notHex = await raw.call('author_submitExtrinsic', ['hello']);
    expect(notHex.error?.code).toBe(-32602);
  });

  it('refuses what cannot pay: 1010 Inability to pay some fees', async () => {
    const poor = new Keyring({ type: 'sr25519', ss58Format: 30 }).addFromUri('//Poor');
    const tx = await signedRemark(poor, 0);
    const res = await submitRaw(tx.toHex());
    expect(res.error).toEqual({
      code: 1010,
      message: 'Invalid Transaction',
      data: 'Inability to pay some fees (e.g. account balance too low)',
    });
  });

  it('refuses unsigned calls: 1011 no unsigned validator; inherents: mandatory', async () => {
    const unsigned = t.api.tx.balances.transferKeepAlive(t.bob.address, 1n);
    const res = await submitRaw(unsigned.toHex());
    expect(res.error).toEqual({
      code: 1011,
      message: 'Unknown Transaction Validity',
      data: 'Could not find an unsigned validator for the unsigned transaction',
    });
    const inherent = t.api.tx.timestamp.set(Date.now());
    const mandatory = await submitRaw(inherent.toHex());
    expect(mandatory.error).toMatchObject({
      code: 1010,
      data: 'Transaction dispatch is mandatory; transactions must not be validated.',
    });
  });

  it('refuses a birth block older than BlockHashCount: 1010 ancient birth block', async () => {
    const header = await t.api.rpc.chain.getHeader();
    const era = t.api.registry.createType('ExtrinsicEra', { current: header.number.toNumber(), period: 64 });
    const tx = await signedRemark(t.charlie, await nonceOf(t.charlie), { era, blockHash: header.hash });
    // Still valid now...
    const valid = await raw.call('state_call', [
      'TaggedTransactionQueue_validate_transaction',
      u8aToHex(u8aConcat(Uint8Array.of(2), tx.toU8a(), (await t.api.rpc.chain.getBlockHash()).toU8a())),
    ]);
    const validity = t.api.registry.createType('TransactionValidity', valid.result as string) as unknown as {
      isOk: boolean;
    };
    expect(validity.isOk).toBe(true);
    // ...but after BlockHashCount (8) more blocks its birth block hash is pruned.
    for (let i = 0; i < 10; i++) await block();
    const res = await submitRaw(tx.toHex());
    expect(res.error).toEqual({
      code: 1010,
      message: 'Invalid Transaction',
      data: 'Transaction has an ancient birth block',
    });
  });

  it('treats an expired era within BlockHashCount as a bad signature (as Substrate does)', async () => {
    const header = await t.api.rpc.chain.getHeader();
    const era = t.api.registry.createType('ExtrinsicEra', { current: header.number.toNumber(), period: 4 });
    const tx = await signedRemark(t.charlie, await nonceOf(t.charlie), { era, blockHash: header.hash });
    for (let i = 0; i < 5; i++) await block();
    const res = await submitRaw(tx.toHex());
    expect(res.error?.data).toBe('Transaction has a bad signature');
  });
});

describe('the pool', () => {
  it('keeps a future nonce until the gap is filled, then includes both in order', async () => {
    const nonce = await nonceOf(t.bob);
    const later = await signedRemark(t.bob, nonce + 1);
    const watched = await raw.call('author_submitAndWatchExtrinsic', [later.toHex()]);
    const subId = watched.result;
    const statuses = () =>
      raw.messages
        .filter((m) => notificationOf(m)?.subscription === subId)
        .map((m) => statusName(notificationOf(m)!.result));
    await raw.waitFor((m) => notificationOf(m)?.subscription === subId);
    expect(statuses()).toEqual(['future']);
    expect(await nonceOf(t.bob)).toBe(nonce);
    const pending = await raw.call('author_pendingExtrinsics');
    expect(pending.result).toContain(later.toHex());
    const first = await signedRemark(t.bob, nonce);
    await submitRaw(first.toHex());
    await raw.waitFor(
      (m) => notificationOf(m)?.subscription === subId && notificationOf(m)!.result === 'ready',
    );
    expect(await nonceOf(t.bob)).toBe(nonce + 2);
    const produced = await block();
    expect(produced.extrinsics.map((x) => u8aToHex(x))).toEqual([
      expect.any(String),
      first.toHex(),
      later.toHex(),
    ]);
    await raw.waitFor(
      (m) =>
        notificationOf(m)?.subscription === subId && statusName(notificationOf(m)!.result) === 'finalized',
    );
    expect(statuses()).toEqual(['future', 'ready', 'inBlock', 'finalized']);
  });

  it('refuses duplicates (1013) and same-nonce replacements without a higher tip (1014); a higher tip replaces', async () => {
    const nonce = await nonceOf(t.charlie);
    const tx = await signedRemark(t.charlie, nonce);
    await submitRaw(tx.toHex());
    expect((await submitRaw(tx.toHex())).error).toEqual({
      code: 1013,
      message: 'Transaction Already Imported',
    });
    const rival = await t.api.tx.system.remark('0x01').signAsync(t.charlie, { nonce });
    const low = await submitRaw(rival.toHex());
    expect(low.error?.code).toBe(1014);
    expect(low.error?.message).toMatch(/^Priority is too low/);
    const richer = await t.api.tx.system.remark('0x02').signAsync(t.charlie, { nonce, tip: 1000n });
    expect((await submitRaw(richer.toHex())).result).toBe(richer.hash.toHex());
    const pending = (await raw.call('author_pendingExtrinsics')).result as string[];
    expect(pending).toContain(richer.toHex());
    expect(pending).not.toContain(tx.toHex());
    await block();
  });

  it('drops a transaction that turns invalid before its block (invalid status)', async () => {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 30 });
    const tight = keyring.addFromUri('//Tight');
    // Enough for one transfer and its fee, not for a second fee after it.
    const ed = 10n ** 10n;
    await t.api.tx.balances.transferKeepAlive(tight.address, ed * 3n).signAndSend(t.alice);
    await block();
    const probe = t.api.tx.balances.transferKeepAlive(t.alice.address, ed);
    const fee = (await probe.paymentInfo(tight)).partialFee.toBigInt();
    // Leaves the existential deposit and a little: the second fee no longer fits.
    const drain = await t.api.tx.balances
      .transferKeepAlive(t.alice.address, ed * 2n - fee - 5n * 10n ** 6n)
      .signAsync(tight, { nonce: 0 });
    const second = await signedRemark(tight, 1);
    await submitRaw(drain.toHex());
    const sub = await raw.call('author_submitAndWatchExtrinsic', [second.toHex()]);
    const produced = await block();
    expect(produced.extrinsics.map((x) => u8aToHex(x))).toContain(drain.toHex());
    expect(produced.extrinsics.map((x) => u8aToHex(x))).not.toContain(second.toHex());
    await raw.waitFor(
      (m) => notificationOf(m)?.subscription === sub.result && notificationOf(m)!.result === 'invalid',
    );
  });
});

describe('transactionWatch_v1 (new JSON-RPC spec)', () => {
  it('reports validated, included and finalized with the block and index, and invalid with its reason', async () => {
    const tx = await signedRemark(t.alice, await nonceOf(t.alice));
    const sub = await raw.call('transactionWatch_v1_submitAndWatch', [tx.toHex()]);
    const mine = (m: unknown) => notificationOf(m)?.subscription === sub.result;
    await raw.waitFor(
      (m) => mine(m) && (notificationOf(m)!.result as { event: string }).event === 'validated',
    );
    const produced = await block();
    await raw.waitFor(
      (m) => mine(m) && (notificationOf(m)!.result as { event: string }).event === 'finalized',
    );
    expect(raw.messages.filter(mine).map((m) => notificationOf(m)!.result)).toEqual([
      { event: 'validated' },
      { event: 'bestChainBlockIncluded', block: { hash: produced.hashHex, index: 1 } },
      { event: 'finalized', block: { hash: produced.hashHex, index: 1 } },
    ]);

    const bad = (await signedRemark(t.alice, await nonceOf(t.alice))).toU8a();
    const prefix = compactToU8a(bad.length - compactToU8a(bad.length).length).length;
    bad[prefix + 1 + 33 + 1 + 5]! ^= 0xff;
    const badSub = await raw.call('transactionWatch_v1_submitAndWatch', [u8aToHex(bad)]);
    const event = (await raw.waitFor((m) => notificationOf(m)?.subscription === badSub.result)) as unknown;
    expect(notificationOf(event)!.result).toEqual({
      event: 'invalid',
      error: 'Transaction has a bad signature',
    });
  });
});
