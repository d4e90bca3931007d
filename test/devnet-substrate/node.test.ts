import { calculate_state_root } from '@acala-network/chopsticks-executor';
import { Keyring } from '@polkadot/keyring';
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderedTrieRoot } from '../../src/devnet/substrate/storage/trie.js';
import { decodeEventRecords } from '../../src/phala/events.js';
import { RawRpc, type TestNode, httpRpc, notificationOf, startTestNode, statusName } from './helpers.js';

/**
 * The dev node as polkadot-js sees it: connection and metadata, blocks and their roots (checked
 * against chopsticks' wasm implementation of sp-trie), signed extrinsics of all three signature
 * schemes, events, fees, runtime APIs and subscriptions.
 */

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t?.stop();
});

async function transfer(signer = t.alice, to = t.bob.address, amount = 10n ** 12n) {
  return new Promise<{ blockHash: string; index: number }>((resolve, reject) => {
    t.api.tx.balances
      .transferKeepAlive(to, amount)
      .signAndSend(signer, (r) => {
        if (r.status.isInBlock) resolve({ blockHash: r.status.asInBlock.toHex(), index: r.txIndex ?? 0 });
        else if (r.status.isFinalized)
          resolve({ blockHash: r.status.asFinalized.toHex(), index: r.txIndex ?? 0 });
        else if (r.isError) reject(new Error(r.status.type));
      })
      .catch(reject);
  });
}

describe('connection and metadata', () => {
  it('connects with ApiPromise and loads metadata V15 through the runtime API', async () => {
    expect(t.api.runtimeMetadata.version).toBe(15);
    expect(t.api.runtimeVersion.specName.toString()).toBe('phala-devnet');
    expect(t.api.genesisHash.toHex()).toBe(t.node.chain.genesis.hashHex);
    const chain = await t.api.rpc.system.chain();
    expect(chain.toString()).toBe('Phala Devnet');
    const props = await t.api.rpc.system.properties();
    expect(props.ss58Format.unwrap().toNumber()).toBe(30);
    expect(props.tokenSymbol.unwrap()[0]!.toString()).toBe('PHA');
  });

  it('exposes the pallets, calls, storage, events, errors and constants', () => {
    const api = t.api;
    expect(Object.keys(api.tx)).toEqual(
      expect.arrayContaining([
        'system',
        'timestamp',
        'balances',
        'sudo',
        'phalaRegistry',
        'phalaContracts',
        'phalaMq',
      ]),
    );
    expect(api.tx.balances.transferKeepAlive).toBeTypeOf('function');
    expect(api.query.system.account).toBeTypeOf('function');
    expect(api.events.system.ExtrinsicSuccess).toBeDefined();
    expect(api.errors.phalaContracts.StaleState).toBeDefined();
    expect((api.consts.balances.existentialDeposit as unknown as { toBigInt(): bigint }).toBigInt()).toBe(
      10n ** 10n,
    );
    expect((api.consts.system.blockHashCount as unknown as { toNumber(): number }).toNumber()).toBe(4096);
    const version = api.consts.system.version as unknown as { specName: { toString(): string } };
    expect(version.specName.toString()).toBe('phala-devnet');
    // The signed extensions of a FRAME runtime, which polkadot-js knows how to fill in.
    expect(api.registry.signedExtensions).toEqual([
      'CheckNonZeroSender',
      'CheckSpecVersion',
      'CheckTxVersion',
      'CheckGenesis',
      'CheckMortality',
      'CheckNonce',
      'CheckWeight',
      'ChargeTransactionPayment',
    ]);
  });

  it('serves the same metadata as V14 (state_getMetadata) and V15 (Metadata_metadata_at_version)', async () => {
    const v14 = await t.api.rpc.state.getMetadata();
    expect(v14.version).toBe(14);
    const versions = await t.api.rpc.state.call('Metadata_metadata_versions', '0x');
    expect(t.api.registry.createType('Vec<u32>', versions).toJSON()).toEqual([14, 15]);
    const at15 = await t.api.rpc.state.call(
      'Metadata_metadata_at_version',
      u8aToHex(t.api.registry.createType('u32', 15).toU8a()),
    );
    const opaque = t.api.registry.createType('Option<OpaqueMetadata>', at15);
    expect(opaque.isSome).toBe(true);
    const none = await t.api.rpc.state.call(
      'Metadata_metadata_at_version',
      u8aToHex(t.api.registry.createType('u32', 16).toU8a()),
    );
    expect(t.api.registry.createType('Option<OpaqueMetadata>', none).isNone).toBe(true);
  });

  it('reports the runtime version with its runtime APIs', async () => {
    const version = await t.api.rpc.state.getRuntimeVersion();
    const apis = version.apis.map(([id, v]) => [id.toHex(), v.toNumber()]);
    // Core, Metadata, TaggedTransactionQueue, AccountNonceApi, TransactionPaymentApi (blake2-64 of the names).
    expect(apis).toEqual(
      expect.arrayContaining([
        ['0xdf6acb689907609b', 5],
        ['0x37e397fc7c91f5e4', 2],
        ['0xd2bc9897eed08f15', 3],
        ['0xbc9d89904f5b923f', 1],
        ['0x37c8bb1350a9a2a8', 4],
      ]),
    );
    expect(version.transactionVersion.toNumber()).toBe(1);
  });
});

describe('blocks', () => {
  it('builds headers whose hash, extrinsics root and state root are right', async () => {
    const { blockHash } = await transfer();
    const signed = await t.api.rpc.chain.getBlock(blockHash);
    const header = signed.block.header;
    // polkadot-js hashes the header itself.
    expect(header.hash.toHex()).toBe(blockHash);
    const parent = await t.api.rpc.chain.getHeader(header.parentHash);
    expect(parent.number.toNumber()).toBe(header.number.toNumber() - 1);
    // Extrinsics root: ordered trie of the extrinsics (timestamp inherent + the transfer).
    const extrinsics = signed.block.extrinsics.map((x) => x.toU8a());
    expect(extrinsics.length).toBe(2);
    expect(signed.block.extrinsics[0]!.method.section).toBe('timestamp');
    expect(u8aToHex(orderedTrieRoot(extrinsics, 1))).toBe(header.extrinsicsRoot.toHex());
    const entries = extrinsics.map((x, i) => [u8aToHex(compactToU8a(i)), u8aToHex(x)]);
    expect(await calculate_state_root(entries, 1)).toBe(header.extrinsicsRoot.toHex());
    // State root: the trie root of every key/value at this block, computed by sp-trie (wasm).
    const keys: string[] = [];
    for (let start: string | undefined; ; ) {
      const page = await t.api.rpc.state.getKeysPaged('0x', 1000, start, blockHash);
      keys.push(...page.map((k) => k.toHex()));
      if (page.length < 1000) break;
      start = page[page.length - 1]!.toHex();
    }
    const values = await Promise.all(keys.map((k) => t.api.rpc.state.getStorage(k, blockHash)));
    const kv = keys.map((k, i) => [k, (values[i] as unknown as { toHex(): string }).toHex()]);
    expect(await calculate_state_root(kv, 1)).toBe(header.stateRoot.toHex());
    // An Aura pre-runtime digest with the slot.
    expect(header.digest.logs[0]!.isPreRuntime).toBe(true);
    expect(header.digest.logs[0]!.asPreRuntime[0].toString()).toBe('aura');
  });

  it('answers block hash queries by number, list and the best block', async () => {
    const best = await t.api.rpc.chain.getHeader();
    const byNumber = await t.api.rpc.chain.getBlockHash(best.number.toNumber());
    expect(byNumber.toHex()).toBe(best.hash.toHex());
    const genesis = await t.api.rpc.chain.getBlockHash(0);
    expect(genesis.toHex()).toBe(t.api.genesisHash.toHex());
    const raw = new RawRpc(t.node.wsUrl);
    const list = await raw.call('chain_getBlockHash', [[0, 1, 999_999]]);
    expect((list.result as unknown[])[0]).toBe(t.api.genesisHash.toHex());
    expect((list.result as unknown[])[2]).toBeNull();
    expect((await raw.call('chain_getHeader', [`0x${'00'.repeat(32)}`])).result).toBeNull();
    expect((await raw.call('chain_getBlock', [`0x${'00'.repeat(32)}`])).result).toBeNull();
    raw.close();
  });

  it('records System.Events as Vec<EventRecord> with phases, decoded by name', async () => {
    const { blockHash } = await transfer(t.alice, t.charlie.address, 5n * 10n ** 12n);
    const records = await (await t.api.at(blockHash)).query.system.events();
    const events = decodeEventRecords(t.api, records as never);
    const names = events.map((e) => `${e.pallet}.${e.name}`);
    expect(names).toEqual([
      'System.ExtrinsicSuccess', // the timestamp inherent
      'Balances.Withdraw',
      'Balances.Transfer',
      'TransactionPayment.TransactionFeePaid',
      'System.ExtrinsicSuccess',
    ]);
    expect(events[0]!.phase).toEqual({ kind: 'applyExtrinsic', index: 0 });
    expect(events[2]!.phase).toEqual({ kind: 'applyExtrinsic', index: 1 });
    expect(events[2]!.fields).toMatchObject({
      from: u8aToHex(t.alice.publicKey),
      to: u8aToHex(t.charlie.publicKey),
      amount: (5n * 10n ** 12n).toString(),
    });
    const success = events[4]!.fields.dispatchInfo as { class: string; paysFee: string };
    expect(success).toMatchObject({ class: 'Normal', paysFee: 'Yes' });
  });
});

describe('signed extrinsics', () => {
  it('accepts sr25519, ed25519 and ecdsa signers and charges the fee it reports', async () => {
    for (const type of ['ed25519', 'ecdsa'] as const) {
      const pair = new Keyring({ type, ss58Format: 30 }).addFromUri(`//Test${type}`);
      await transfer(t.alice, pair.address, 10n ** 15n);
      type Account = { data: { free: { toBigInt(): bigint } }; nonce: { toNumber(): number } };
      const before = (await t.api.query.system.account(pair.address)) as unknown as Account;
      const estimate = await t.api.tx.balances.transferKeepAlive(t.bob.address, 1234n).paymentInfo(pair);
      const { blockHash } = await transfer(pair, t.bob.address, 1234n);
      const after = (await t.api.query.system.account(pair.address)) as unknown as Account;
      expect(after.nonce.toNumber()).toBe(1);
      const events = decodeEventRecords(
        t.api,
        (await (await t.api.at(blockHash)).query.system.events()) as never,
      );
      const paid = events.find((e) => e.name === 'TransactionFeePaid')!;
      expect(paid.fields.who).toBe(
        u8aToHex(
          type === 'ecdsa' ? t.api.registry.createType('AccountId', pair.address).toU8a() : pair.publicKey,
        ),
      );
      const fee = BigInt(paid.fields.actualFee as string);
      expect(before.data.free.toBigInt() - after.data.free.toBigInt()).toBe(1234n + fee);
      // polkadot-js estimates with a fake signature, so the length (and fee) may differ by a byte or two.
      const diff = fee - estimate.partialFee.toBigInt();
      expect(diff < 0n ? -diff : diff).toBeLessThan(fee / 50n);
    }
  });

  it('answers payment_queryInfo and TransactionPaymentApi the same way', async () => {
    const tx = await t.api.tx.balances.transferKeepAlive(t.bob.address, 1n).signAsync(t.alice);
    const rpc = await t.api.rpc.payment.queryInfo(tx.toHex());
    const call = await t.api.call.transactionPaymentApi.queryInfo(tx.toU8a(), tx.encodedLength);
    expect(rpc.partialFee.toBigInt()).toBe(
      (call as unknown as { partialFee: { toBigInt(): bigint } }).partialFee.toBigInt(),
    );
    expect(rpc.partialFee.toBigInt()).toBeGreaterThan(0n);
    const details = await t.api.rpc.payment.queryFeeDetails(tx.toHex());
    expect(details.inclusionFee.isSome).toBe(true);
  });

  it('counts pooled transactions in system_accountNextIndex and the runtime nonce API', async () => {
    const onChain = (await t.api.call.accountNonceApi.accountNonce(t.alice.address)) as unknown as {
      toNumber(): number;
    };
    const next = await t.api.rpc.system.accountNextIndex(t.alice.address);
    expect(next.toNumber()).toBe(onChain.toNumber());
  });

  it('follows submitAndWatch through ready, in block and finalized', async () => {
    const statuses: string[] = [];
    await new Promise<void>((resolve, reject) => {
      t.api.tx.system
        .remarkWithEvent('0x68656c6c6f')
        .signAndSend(t.bob, (r) => {
          statuses.push(r.status.type);
          if (r.status.isFinalized) resolve();
        })
        .catch(reject);
    });
    expect(statuses[0]).toBe('Ready');
    expect(statuses[statuses.length - 1]).toBe('Finalized');
    const raw = new RawRpc(t.node.wsUrl);
    const tx = await t.api.tx.system.remark('0x01').signAsync(t.bob);
    const sub = await raw.call('author_submitAndWatchExtrinsic', [tx.toHex()]);
    const subId = sub.result;
    const mine = (m: unknown) => notificationOf(m)?.subscription === subId;
    await raw.waitFor((m) => mine(m) && statusName(notificationOf(m)!.result) === 'finalized');
    const updates = () => raw.messages.filter(mine).map((m) => statusName(notificationOf(m)!.result));
    expect(updates()).toEqual(['ready', 'inBlock', 'finalized']);
    raw.close();
  });
});

describe('runtime APIs', () => {
  it('validates transactions through TaggedTransactionQueue', async () => {
    const tx = await t.api.tx.system.remark('0x02').signAsync(t.charlie);
    const best = await t.api.rpc.chain.getBlockHash();
    const input = u8aConcat(Uint8Array.of(2), tx.toU8a(), best.toU8a());
    const out = await t.api.rpc.state.call('TaggedTransactionQueue_validate_transaction', u8aToHex(input));
    const validity = t.api.registry.createType('TransactionValidity', out) as unknown as {
      isOk: boolean;
      asOk: { provides: unknown[] };
    };
    expect(validity.isOk).toBe(true);
    expect(validity.asOk.provides.length).toBe(1);
  });

  it('reports an unknown runtime API method as a client error', async () => {
    const raw = new RawRpc(t.node.wsUrl);
    const res = await raw.call('state_call', ['Nope_nothing', '0x']);
    expect(res.error?.code).toBe(4003);
    expect(res.error?.message).toContain('Nope_nothing');
    raw.close();
  });
});

describe('HTTP', () => {
  it('answers JSON-RPC over HTTP on the same port, and /health', async () => {
    const res = await httpRpc(t.node.httpUrl, {
      jsonrpc: '2.0',
      id: 7,
      method: 'chain_getBlockHash',
      params: [0],
    });
    expect(res.json).toEqual({ jsonrpc: '2.0', id: 7, result: t.api.genesisHash.toHex() });
    const sub = await httpRpc(t.node.httpUrl, {
      jsonrpc: '2.0',
      id: 8,
      method: 'chain_subscribeNewHeads',
      params: [],
    });
    expect((sub.json as { error: { code: number } }).error.code).toBe(-32601);
    const health = await fetch(`${t.node.httpUrl}/health`);
    expect(await health.json()).toEqual({ peers: 0, isSyncing: false, shouldHavePeers: false });
  });

  it('reads storage with state_getStorage and state_queryStorageAt', async () => {
    const key = t.api.query.system.account.key(t.alice.address);
    const res = await httpRpc(t.node.httpUrl, {
      jsonrpc: '2.0',
      id: 1,
      method: 'state_getStorage',
      params: [key],
    });
    const value = t.api.registry.createType('AccountInfo', hexToU8a((res.json as { result: string }).result));
    expect((value as unknown as { nonce: { toNumber(): number } }).nonce.toNumber()).toBeGreaterThan(0);
    const at = (await t.api.rpc.state.queryStorageAt([key])) as unknown as unknown[];
    expect(at.length).toBe(1);
  });
});
