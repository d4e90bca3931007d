import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, type Hex } from '../../src/base/bytes.js';
import { devAccounts } from '../../src/devnet/substrate/chains/dev-accounts.js';
import { Balances } from '../../src/devnet/substrate/pallets/balances.js';
import { DEFAULT_UNIT_WEIGHT } from '../../src/devnet/xcm/config.js';
import { type ChainHarness, palletEvents, startChainHarness } from '../../src/devnet/xcm/harness.js';
import { xcmPalletParts } from '../../src/devnet/xcm/pallets/xcm-pallet.js';
import { assetHash } from '../../src/devnet/xcm/assets.js';
import { encodeXcm } from '../../src/xcm/encode.js';
import type { JsonValue } from '../../src/xcm/json.js';
import { accountId32, here, type LocationJson, location, parent, sibling } from '../../src/xcm/location.js';
import { messageHash } from '../../src/xcm/message-id.js';
import { hashedDescription, sovereignAccountOf } from '../../src/xcm/sovereign.js';
import { encodeXcmpPage } from '../../src/xcm/xcmp.js';

/**
 * The devnet's XCM executor, barrier, weigher and fee trader, on the sibling parachain alone:
 * messages arrive from the relay chain (DMP, origin Parent) or the Phala chain (HRMP, origin
 * Sibling(2035)) in a block's inherent, and each outcome is read from the block's events, as a
 * client would.
 */

let h: ChainHarness;
let bob: Uint8Array;
let charlie: Uint8Array;
const UNIT = DEFAULT_UNIT_WEIGHT.refTime;
/** TransactionPayment's weight-to-fee on the devnet: ref time / 10. */
const feeOf = (instructions: number, extra = 0n) => (BigInt(instructions) * UNIT + extra) / 10n;
const parentAccount = fromHex(sovereignAccountOf(parent())!.account, 'account', 32);
const TOPIC = `0x${'7a'.repeat(32)}` as Hex;

const native = (amount: bigint) => ({ id: here(), fun: { fungible: amount.toString() } });
const to = (account: Uint8Array): LocationJson => location(0, [accountId32(u8aToHex(account) as Hex)]);
const v5 = (instructions: JsonValue[]) => encodeXcm({ v5: instructions }).bytes;
const paid = (amount: bigint): JsonValue[] => [
  { withdrawAsset: [native(amount)] },
  { buyExecution: { fees: native(amount), weightLimit: { unlimited: null } } },
];
const unpaid: JsonValue = { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } };

function free(account: Uint8Array): bigint {
  return Balances.free(h.chain.env(), account);
}

/** Delivers one message and returns the block's XCM events by pallet. */
async function run(message: Uint8Array, from: 'parent' | number = 'parent') {
  const { events } = await h.deliver(
    from === 'parent' ? { downward: [message] } : { horizontal: [[from, [encodeXcmpPage([message])]]] },
  );
  const mq = palletEvents(events, 'MessageQueue');
  const xcm = palletEvents(events, 'PolkadotXcm');
  const processed = mq.find((e) => e.name === 'Processed');
  return {
    events,
    mq,
    xcm,
    processed: processed?.fields as
      | {
          id: Uint8Array;
          origin: unknown;
          weightUsed: { refTime: bigint; proofSize: bigint };
          success: boolean;
        }
      | undefined,
    failed: mq.find((e) => e.name === 'ProcessingFailed')?.fields as
      | { id: Uint8Array; error: { tag: string } }
      | undefined,
    error: xcm.find((e) => e.name === 'ProcessXcmError')?.fields.error as JsonValue | undefined,
    transactFailure: xcm.find((e) => e.name === 'TransactDispatchFailed')?.fields as
      | { index: number; error: { tag: string; value?: unknown } }
      | undefined,
  };
}

/** The name of an XcmError in polkadot-js JSON (`'Barrier'`, `{ trap: 1 }` or `{ barrier: null }`). */
function errorName(error: JsonValue | undefined): string | undefined {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && !Array.isArray(error)) {
    const key = Object.keys(error)[0]!;
    return key[0]!.toUpperCase() + key.slice(1);
  }
  return undefined;
}

beforeAll(async () => {
  h = await startChainHarness('sibling');
  const accounts = await devAccounts(42);
  bob = accounts.Bob.publicKey;
  charlie = accounts.Charlie.publicKey;
});

afterAll(async () => {
  expect(h.errors).toEqual([]);
  await h.stop();
});

describe('XCM executor on the devnet', () => {
  it('runs a paid program: withdraws from the sovereign account, charges the weight, deposits the rest', async () => {
    const amount = 10n ** 12n;
    const [parentBefore, bobBefore] = [free(parentAccount), free(bob)];
    const r = await run(
      v5([
        ...paid(amount),
        { depositAsset: { assets: { wild: { allCounted: 1 } }, beneficiary: to(bob) } },
        { setTopic: TOPIC },
      ]),
    );
    expect(r.processed?.success).toBe(true);
    expect(u8aToHex(r.processed!.id)).toBe(TOPIC);
    expect(r.processed?.origin).toEqual({ tag: 'Parent' });
    expect(r.processed?.weightUsed.refTime).toBe(4n * UNIT);
    expect(free(parentAccount)).toBe(parentBefore - amount);
    expect(free(bob)).toBe(bobBefore + amount - feeOf(4));
  });

  it('converts Transact origins: Superuser from the relay chain is root, SovereignAccount its account', async () => {
    const setBalance = h.chain.runtime.encodeCall(
      h.chain.runtime.call('Balances', 'forceSetBalance', {
        who: { tag: 'Id', value: charlie },
        newFree: 7n * 10n ** 12n,
      }),
    );
    const root = await run(
      v5([
        unpaid,
        {
          transact: {
            originKind: 'Superuser',
            fallbackMaxWeight: null,
            call: { encoded: u8aToHex(setBalance) },
          },
        },
      ]),
    );
    expect(root.processed?.success).toBe(true);
    expect(free(charlie)).toBe(7n * 10n ** 12n);

    const transfer = h.chain.runtime.encodeCall(
      h.chain.runtime.call('Balances', 'transferKeepAlive', {
        dest: { tag: 'Id', value: charlie },
        value: 10n ** 12n,
      }),
    );
    const parentBefore = free(parentAccount);
    const signed = await run(
      v5([
        unpaid,
        {
          transact: {
            originKind: 'SovereignAccount',
            fallbackMaxWeight: null,
            call: { encoded: u8aToHex(transfer) },
          },
        },
      ]),
    );
    expect(signed.processed?.success).toBe(true);
    expect(free(charlie)).toBe(8n * 10n ** 12n);
    expect(parentBefore - free(parentAccount)).toBeGreaterThanOrEqual(10n ** 12n);
  });

  it('fails a Transact whose call fails, reporting the dispatch error (strict Transact)', async () => {
    const transfer = h.chain.runtime.encodeCall(
      h.chain.runtime.call('Balances', 'transferKeepAlive', {
        dest: { tag: 'Id', value: bob },
        value: 10n ** 30n,
      }),
    );
    const r = await run(
      v5([
        unpaid,
        {
          transact: {
            originKind: 'SovereignAccount',
            fallbackMaxWeight: null,
            call: { encoded: u8aToHex(transfer) },
          },
        },
        { setTopic: TOPIC },
      ]),
      2035,
    );
    expect(r.processed?.success).toBe(false);
    expect(r.processed?.origin).toEqual({ tag: 'Sibling', value: 2035 });
    expect(u8aToHex(r.processed!.id)).toBe(TOPIC);
    expect(errorName(r.error)).toBe('ExpectationFalse');
    expect(r.transactFailure?.index).toBe(1);
    expect(r.transactFailure?.error).toEqual({ tag: 'Token', value: { tag: 'FundsUnavailable' } });
  });

  it('refuses at the barrier what is neither paid nor from a trusted origin, under the message hash', async () => {
    const message = v5([unpaid, { clearOrigin: null }, { setTopic: TOPIC }]);
    const r = await run(message, 3000);
    expect(r.processed).toBeUndefined();
    expect(r.failed?.error).toEqual({ tag: 'Unsupported' });
    expect(u8aToHex(r.failed!.id)).toBe(messageHash(message));
    expect(errorName(r.error)).toBe('Barrier');
    // Paid from the sibling's own account is fine, but BuyExecution must come right after the assets.
    const unpaidOrder = await run(v5([{ withdrawAsset: [native(10n ** 12n)] }, { clearTopic: null }]), 3000);
    expect(errorName(unpaidOrder.error)).toBe('Barrier');
  });

  it('reports every instruction it does not implement as Unimplemented at its index', async () => {
    const r = await run(v5([unpaid, { clearOrigin: null }, { burnAsset: [] }, { setTopic: TOPIC }]));
    expect(r.processed?.success).toBe(false);
    expect(errorName(r.error)).toBe('Unimplemented');
    // UnpaidExecution, ClearOrigin and BurnAsset ran (weighed); SetTopic did not.
    expect(r.processed?.weightUsed.refTime).toBe(3n * UNIT);
  });

  it('follows the origin register: DescendOrigin, ClearOrigin, UnpaidExecution check_origin', async () => {
    const remark = u8aToHex(
      h.chain.runtime.encodeCall(h.chain.runtime.call('System', 'remark', { remark: new Uint8Array([1]) })),
    );
    const cleared = await run(
      v5([
        unpaid,
        { clearOrigin: null },
        { transact: { originKind: 'SovereignAccount', fallbackMaxWeight: null, call: { encoded: remark } } },
      ]),
    );
    expect(errorName(cleared.error)).toBe('BadOrigin');
    const wrongCheck = await run(
      v5([
        { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: sibling(2035) } },
        { clearTopic: null },
      ]),
    );
    expect(errorName(wrongCheck.error)).toBe('BadOrigin');
    // After DescendOrigin the fees come from the account the descended location controls there,
    // which holds nothing: WithdrawAsset fails, and only what ran is weighed.
    const descended = await run(
      v5([{ descendOrigin: { x1: [accountId32(u8aToHex(bob) as Hex)] } }, ...paid(10n ** 12n)]),
    );
    expect(errorName(descended.error)).toBe('FailedToTransactAsset');
    expect(descended.processed?.weightUsed.refTime).toBe(2n * UNIT);
    const account = hashedDescription(location(1, [accountId32(u8aToHex(bob) as Hex)]));
    expect(account).toBeDefined();
  });

  it('charges fees: too little is TooExpensive and what was withdrawn is trapped', async () => {
    const r = await run(v5([...paid(1000n), { clearTopic: null }]));
    expect(errorName(r.error)).toBe('TooExpensive');
    const trapped = r.xcm.find((e) => e.name === 'AssetsTrapped');
    expect(trapped?.fields.assets).toEqual({
      v5: [{ id: { parents: 0, interior: { here: null } }, fun: { fungible: 1000 } }],
    });
    const traps = xcmPalletParts('PolkadotXcm').storage.AssetTraps;
    expect(traps.get(h.chain.env(), trapped!.fields.hash as Uint8Array)).toBe(1);
  });

  it('takes reserve assets only from their reserve, into the derivative ledger', async () => {
    const foreign = { id: sibling(2035), fun: { fungible: '5000' } };
    const ok = await run(
      v5([
        unpaid,
        { reserveAssetDeposited: [foreign] },
        { depositAsset: { assets: { wild: { all: null } }, beneficiary: to(bob) } },
      ]),
      2035,
    );
    expect(ok.processed?.success).toBe(true);
    const ledger = xcmPalletParts('PolkadotXcm').storage.DerivativeBalances;
    expect(ledger.get(h.chain.env(), assetHash(sibling(2035)), bob)).toBe(5000n);
    const untrusted = await run(
      v5([unpaid, { reserveAssetDeposited: [{ id: parent(), fun: { fungible: '5' } }] }]),
      2035,
    );
    expect(errorName(untrusted.error)).toBe('UntrustedReserveLocation');
  });

  it('checks V4 Transact weights and refunds the surplus', async () => {
    const remark = u8aToHex(
      h.chain.runtime.encodeCall(h.chain.runtime.call('System', 'remark', { remark: new Uint8Array([1]) })),
    );
    const tooLow = encodeXcm({
      v4: [
        unpaid,
        {
          transact: {
            originKind: 'SovereignAccount',
            requireWeightAtMost: { refTime: 1, proofSize: 1 },
            call: { encoded: remark },
          },
        },
      ],
    }).bytes;
    expect(errorName((await run(tooLow)).error)).toBe('MaxWeightInvalid');
    const generous = { refTime: 5n * UNIT, proofSize: 100_000n };
    const amount = 10n ** 12n;
    const bobBefore = free(bob);
    const r = await run(
      encodeXcm({
        v4: [
          ...paid(amount),
          {
            transact: {
              originKind: 'SovereignAccount',
              requireWeightAtMost: { refTime: generous.refTime.toString(), proofSize: 100000 },
              call: { encoded: remark },
            },
          },
          { refundSurplus: null },
          { depositAsset: { assets: { wild: { allCounted: 1 } }, beneficiary: to(bob) } },
        ],
      }).bytes,
    );
    expect(r.processed?.success).toBe(true);
    const callWeight = h.chain.runtime.callInfo(
      h.chain.runtime.call('System', 'remark', { remark: new Uint8Array([1]) }),
    ).weight.refTime;
    // Charged for 5 instructions and the call, not for the announced 5 units.
    expect(free(bob) - bobBefore).toBe(amount - feeOf(5, callWeight));
    expect(r.processed?.weightUsed.refTime).toBe(5n * UNIT + callWeight);
  });

  it('sets aside overweight messages and refuses what it cannot weigh or decode', async () => {
    const undecodable = {
      transact: { originKind: 'Xcm', fallbackMaxWeight: null, call: { encoded: '0xffff' } },
    };
    const unweighable = await run(v5([unpaid, undecodable]));
    expect(errorName(unweighable.error)).toBe('WeightNotComputable');
    expect(unweighable.failed?.error).toEqual({ tag: 'Unsupported' });
    const heavy = await run(
      v5([
        unpaid,
        {
          transact: {
            originKind: 'Xcm',
            fallbackMaxWeight: { refTime: '0xffffffffffff', proofSize: 1 },
            call: { encoded: '0xffff' },
          },
        },
      ]),
    );
    expect(heavy.mq.map((e) => e.name)).toEqual(['OverweightEnqueued']);
    const fallback = await run(
      v5([
        unpaid,
        {
          transact: {
            originKind: 'Xcm',
            fallbackMaxWeight: { refTime: 1000, proofSize: 1 },
            call: { encoded: '0xffff' },
          },
        },
      ]),
    );
    expect(errorName(fallback.error)).toBe('FailedToDecode');
    const garbage = await h.deliver({ downward: [Uint8Array.of(0x05, 0xff, 0xff)] });
    expect(palletEvents(garbage.events, 'MessageQueue')[0]?.fields.error).toEqual({ tag: 'BadFormat' });
  });

  it('uses the trailing SetTopic as the id whatever the program does with topics, and accepts V3', async () => {
    const r = await run(
      v5([unpaid, { setTopic: `0x${'11'.repeat(32)}` }, { clearTopic: null }, { setTopic: TOPIC }]),
    );
    expect(u8aToHex(r.processed!.id)).toBe(TOPIC);
    const v3 = await run(encodeXcm({ v3: [{ clearOrigin: null }] }).bytes);
    // V3 converts to V5; ClearOrigin alone is not paid: refused at the barrier, under its hash.
    expect(errorName(v3.error)).toBe('Barrier');
    const expect1 = await run(
      v5([unpaid, { expectTransactStatus: { success: null } }, { clearTransactStatus: null }]),
    );
    expect(expect1.processed?.success).toBe(true);
  });
});
