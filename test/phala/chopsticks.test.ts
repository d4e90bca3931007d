import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DispatchFailedError,
  type FinalizedBlock,
  type PhalaClient,
  TransactionRejectedError,
  createPhalaClient,
  followFinalizedBlocks,
  submitExtrinsic,
} from '../../src/phala/index.js';

/**
 * The generic parts of src/phala against a real wasm runtime: Rococo Asset Hub (spec 900) started
 * by chopsticks, offline, from the chain spec shipped in @substrate/connect-known-chains (its raw
 * genesis holds the runtime code). The same submit, event decoding and finalized-block follower
 * the relayer uses on the dev node.
 */

type Chopsticks = { addr: string; close(): Promise<void> };

let chopsticks: Chopsticks;
let client: PhalaClient;
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });

beforeAll(async () => {
  await cryptoWaitReady();
  const [{ setupWithServer }, { defaultLogger }, { chainSpec }] = await Promise.all([
    import('@acala-network/chopsticks'),
    import('@acala-network/chopsticks-core'),
    import('@substrate/connect-known-chains/rococo_v2_2_asset_hub'),
  ]);
  defaultLogger.level = 'error';
  const alice = keyring.addFromUri('//Alice');
  chopsticks = (await setupWithServer({
    genesis: JSON.parse(chainSpec),
    port: 0,
    host: '127.0.0.1',
    'build-block-mode': 'Instant',
    // Alice's account on this real chain: funds so she can pay fees.
    'import-storage': {
      System: { Account: [[[alice.address], { providers: 1, data: { free: '1000000000000000000' } }]] },
    },
  } as never)) as unknown as Chopsticks;
  client = await createPhalaClient({ url: `ws://${chopsticks.addr}`, timeoutMs: 60_000 });
}, 180_000);

afterAll(async () => {
  await client?.api.disconnect();
  await chopsticks?.close();
});

describe('against a real runtime (chopsticks, Rococo Asset Hub)', () => {
  it('submits a transfer and sees its event through the finalized-block follower', async () => {
    expect(client.api.runtimeVersion.specName.toString()).toBe('statemine');
    const alice = keyring.addFromUri('//Alice');
    const bob = keyring.addFromUri('//Bob');
    const seen: FinalizedBlock[] = [];
    const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
    const follower = followFinalizedBlocks(client.api, { from: head + 1, onBlock: (b) => void seen.push(b) });
    await follower.ready;
    const amount = 12_345_000_000n;
    const result = await submitExtrinsic(
      client.api,
      client.api.tx.balances.transferKeepAlive(bob.address, amount),
      alice,
      {
        waitFor: 'finalized',
      },
    );
    expect(result.status).toBe('finalized');
    const transfer = result.events.find((e) => e.pallet === 'Balances' && e.name === 'Transfer');
    expect(transfer?.fields).toMatchObject({ amount: amount.toString() });
    const start = Date.now();
    while (!seen.some((b) => b.hash === result.blockHash) && Date.now() - start < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await follower.stop();
    const block = seen.find((b) => b.hash === result.blockHash);
    expect(block?.number).toBe(result.blockNumber);
    const watched = block?.events.find((e) => e.pallet === 'Balances' && e.name === 'Transfer');
    expect(watched?.fields).toEqual(transfer?.fields);
    expect(watched?.phase).toEqual({ kind: 'applyExtrinsic', index: result.index });
  }, 120_000);

  it('names a failed dispatch and a refused transaction the same way as on the dev node', async () => {
    const bob = keyring.addFromUri('//Bob');
    const charlie = keyring.addFromUri('//Charlie');
    // Bob holds what Alice sent; sending more than that fails in the runtime (this old runtime
    // still calls it `transfer`).
    const balances = client.api.tx.balances;
    const send = balances.transferAllowDeath ?? balances.transfer!;
    const failure = await submitExtrinsic(client.api, send(charlie.address, 10n ** 30n), bob).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DispatchFailedError);
    expect(failure).toMatchObject({ pallet: 'Balances', error: 'InsufficientBalance' });
    const poor = keyring.addFromUri('//NobodyOnThisChain');
    await expect(
      submitExtrinsic(client.api, client.api.tx.system.remark('0x00'), poor),
    ).rejects.toBeInstanceOf(TransactionRejectedError);
  }, 120_000);
});
