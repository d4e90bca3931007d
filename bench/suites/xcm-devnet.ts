import { u8aToHex } from '@polkadot/util';
import { startRelayDevnet } from '../../src/devnet/relay-devnet.js';
import { devAccounts } from '../../src/devnet/substrate/chains/dev-accounts.js';
import { palletEvents, startChainHarness } from '../../src/devnet/xcm/harness.js';
import { createPhalaClient, submitSudo } from '../../src/phala/index.js';
import { devSigner } from '../../src/phala/signers.js';
import { encodeXcm } from '../../src/xcm/encode.js';
import { accountId32, here, location, sibling } from '../../src/xcm/location.js';
import type { BenchReport } from '../index.js';

export const name = 'xcm-devnet';

const native = { id: here(), fun: { fungible: '1000000000000' } };

/**
 * The relay devnet's XCM: messages executed per second by one parachain (paid programs that
 * withdraw, buy execution and deposit, delivered downward in batches), and the latency of one
 * HRMP hop through the relay chain on the three-chain devnet (send on the Phala chain → processed
 * on the sibling, blocks made on demand).
 */
export async function run(): Promise<BenchReport> {
  const table: BenchReport['table'] = [];
  const bob = (await devAccounts(42)).Bob.publicKey;
  const message = encodeXcm({
    v5: [
      { withdrawAsset: [native] },
      { buyExecution: { fees: native, weightLimit: { unlimited: null } } },
      {
        depositAsset: {
          assets: { wild: { allCounted: 1 } },
          beneficiary: location(0, [accountId32(u8aToHex(bob) as `0x${string}`)]),
        },
      },
    ],
  }).bytes;

  const harness = await startChainHarness('sibling');
  const batch = 200;
  const rounds = 5;
  await harness.deliver({ downward: [message] });
  const t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < rounds; i++) {
    const { events } = await harness.deliver({ downward: Array.from({ length: batch }, () => message) });
    ok += palletEvents(events, 'MessageQueue').filter(
      (e) => e.name === 'Processed' && e.fields.success,
    ).length;
  }
  const executeMs = performance.now() - t0;
  await harness.stop();
  const perSecond = Math.round((ok / executeMs) * 1000);
  table.push({ case: `execute paid program (${batch}/block)`, messages: ok, 'per second': perSecond });

  const devnet = await startRelayDevnet();
  const phala = await createPhalaClient({ url: devnet.phala.wsUrl });
  const alice = await devSigner('Alice', 30);
  const hops: number[] = [];
  const siblingChain = devnet.sibling.node.chain;
  const ping = {
    v5: [{ unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } }, { clearOrigin: null }],
  };
  for (let i = 0; i < 10; i++) {
    const start = performance.now();
    const processed = new Promise<void>((resolve) => {
      const off = siblingChain.onNewBlock((_block, events) => {
        if (events.some((e) => e.event.tag === 'MessageQueue')) {
          off();
          resolve();
        }
      });
    });
    await submitSudo(phala, phala.api.tx.polkadotXcm!.send!({ v5: sibling(2000) }, ping), alice);
    await processed;
    hops.push(performance.now() - start);
  }
  await phala.api.disconnect();
  await devnet.stop();
  hops.sort((a, b) => a - b);
  const median = hops[Math.floor(hops.length / 2)]!;
  table.push({
    case: 'HRMP hop Phala → relay → sibling (submit to processed)',
    messages: hops.length,
    'median ms': Math.round(median),
  });
  return { table, figures: { executePerSecond: perSecond, hrmpHopMedianMs: Math.round(median) } };
}
