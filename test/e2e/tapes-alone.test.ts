import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Hex, decodeAbiParameters, getContractAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/devnet/evm/node.js';
import { readTape } from '../../src/protocol/tape.js';
import { type Outcome, compareOutcomes, outcomeOf } from '../../src/testing/outcomes.js';

/**
 * Every tape in test/tapes replays alone (issue 16): each with the command docs/testing.md gives
 * for it, verbatim, run from the repository's root as an operator runs it (the CLI in a child
 * process, from the sources), each in the fresh devnet that command starts, two at a time (the
 * machine has 2 cores). What each printed is then checked for what its flow is about.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const tapes = path.join(root, 'test/tapes');
/** `phala-bridge` from the sources (the bin runs the compiled package). */
const cli = ['--conditions=phala-bridge-source', '--import', 'tsx', path.join(root, 'src/cli/main.ts')];
const PARALLEL = 2;

/** The `phala-bridge replay test/tapes/…` commands of docs/testing.md's code blocks, as argv. */
function documentedReplays(): string[][] {
  const markdown = readFileSync(path.join(root, 'docs/testing.md'), 'utf8');
  const commands: string[][] = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const words = line
        .replace(/\s+#.*$/, '')
        .trim()
        .split(/\s+/);
      if (words[0] === 'phala-bridge' && words[1] === 'replay' && words[2]?.startsWith('test/tapes/'))
        commands.push(words.slice(1));
    }
  }
  return commands;
}

type Run = { code: number; stdout: string; stderr: string; seconds: number };
async function run(args: string[]): Promise<Run> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...cli, ...args], {
      cwd: root,
      timeout: 420_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr, seconds: seconds() };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '', seconds: seconds() };
  }
}

/** Runs the commands, `limit` at a time, longest tape first; each tape's run by its name. */
function runAll(commands: string[][], limit: number): Map<string, Promise<Run>> {
  const length = (args: string[]) => readTape(path.join(root, args[1]!)).length;
  const results = new Map<string, Promise<Run>>();
  const queue = [...commands]
    .sort((a, b) => length(b) - length(a))
    .map((args) => {
      let start!: () => Promise<Run>;
      const result = new Promise<Run>((resolve) => {
        start = () => {
          const running = run(args);
          resolve(running);
          return running;
        };
      });
      results.set(path.basename(args[1]!, '.ndjson'), result);
      return start;
    });
  const worker = async () => {
    for (let start = queue.shift(); start; start = queue.shift()) await start().catch(() => undefined);
  };
  for (let i = 0; i < limit; i++) void worker();
  return results;
}

/** The outcomes the command printed: `kind chain requestId result publicOutput`, one a line. */
function printed(stdout: string) {
  return stdout
    .split('\n')
    .map((line) => line.split(' '))
    .filter((w) => w.length === 5 && /^(evm\.log|substrate\.event|xcm\.message)$/.test(w[0]!))
    .map(([kind, chain, requestId, result, publicOutput]) => ({
      kind: kind!,
      chain: chain!,
      requestId: requestId as Hex,
      result: result!,
      publicOutput: publicOutput as Hex,
    }));
}

const abi = (types: string[], data: Hex) =>
  decodeAbiParameters(
    types.map((type) => ({ type })),
    data,
  );
const text = (data: Hex) => Buffer.from(data.slice(2), 'hex').toString();

const commands = documentedReplays();
let results: Map<string, Promise<Run>>;
beforeAll(() => {
  results = runAll(commands, PARALLEL);
});
// A failed check leaves no replay running behind it (each stops its own devnet when it ends).
afterAll(async () => {
  await Promise.allSettled(results.values());
}, 900_000);

/** The tape's run: exit 0, the same as its golden tape, and what it printed. */
async function replayed(name: string) {
  const result = await results.get(name)!;
  const golden = `test/tapes/${name}.golden.ndjson`;
  // A replay that fails says why in the test's own failure: its exit code, time and stderr.
  const why = `${name}: exit ${result.code} after ${result.seconds} s; stderr ends:\n${result.stderr.slice(-3000)}`;
  expect(result.stderr, why).not.toMatch(/Error/);
  expect(result.stdout, why).toContain(`same as ${golden}\n`);
  expect(result.code, why).toBe(0);
  const outcomes = printed(result.stdout);
  expect(outcomes.length).toBe(readTape(path.join(root, golden)).length);
  console.log(`${name}: replayed alone in ${result.seconds} s`);
  return outcomes;
}

describe('every tape replays alone with the command docs/testing.md gives', () => {
  it('docs/testing.md gives a command for every tape, each compared with its golden tape', () => {
    const inputs = readdirSync(tapes).filter((f) => f.endsWith('.ndjson') && !f.endsWith('.golden.ndjson'));
    expect(commands.map((c) => path.basename(c[1]!)).sort()).toEqual(inputs.sort());
    for (const c of commands)
      expect(c[c.indexOf('--compare') + 1]).toBe(c[1]!.replace(/\.ndjson$/, '.golden.ndjson'));
  });

  for (const [flow, who] of [
    ['evm', ['evm-ada', 'evm-grace']],
    ['phala', ['phala-dave', 'phala-eve']],
    ['xcm', ['xcm-dave', 'xcm-ferdie']],
  ] as const) {
    it(`${flow}: the greeter answers each sender as recorded`, async () => {
      const outcomes = await replayed(flow);
      expect(outcomes.map((o) => text(o.publicOutput))).toEqual(who.map((name) => `hello, ${name}!`));
    }, 600_000);
  }

  it('auction: EVM and XCM bids in one sealed state, an early settle refused, the same winner and price', async () => {
    const outcomes = await replayed('auction');
    // In recorded order: EVM bid, XCM bid, EVM settle by a bidder, EVM bid, XCM zero bid, settle.
    expect(outcomes.map((o) => o.kind)).toEqual([
      'evm.log',
      'xcm.message',
      'evm.log',
      'evm.log',
      'xcm.message',
      'evm.log',
    ]);
    const bid = (i: number) => abi(['uint8', 'bool'], outcomes[i]!.publicOutput)[1];
    expect([bid(0), bid(1), bid(3), bid(4)]).toEqual([true, true, true, false]);
    // Only the auctioneer settles: the bidder's settle is a contract error, named in the clear.
    expect(text(outcomes[2]!.publicOutput)).toMatch(/^[A-Za-z]+$/);
    // The sibling's bid of 700 wins at the second price, 650 (an EVM bid): the XCM bid's id is
    // the recording's, since the tape starts where its recording's chain did.
    const [, winner, price] = abi(['uint8', 'bytes32', 'uint256'], outcomes[5]!.publicOutput);
    expect(winner).toBe(outcomes[1]!.requestId);
    expect(price).toBe(650n);
  }, 600_000);

  it('wasm: the WebAssembly greeter answers every origin and the hash chain its head, as recorded', async () => {
    const outcomes = await replayed('wasm');
    expect(outcomes.map((o) => o.kind)).toEqual([
      'evm.log',
      'substrate.event',
      'xcm.message',
      'substrate.event',
    ]);
    expect(outcomes.slice(0, 3).map((o) => text(o.publicOutput))).toEqual([
      'hello, wasm-evm!',
      'hello, wasm-phala!',
      'hello, wasm-xcm!',
    ]);
    // 1,000 rounds of SHA-256 from the recorded seed: the same head as computed here.
    let head: Uint8Array = new Uint8Array(32).fill(0x42);
    for (let i = 0; i < 1_000; i++) head = createHash('sha256').update(head).digest();
    expect(abi(['bytes32', 'uint256'], outcomes[3]!.publicOutput)).toEqual([
      `0x${Buffer.from(head).toString('hex')}`,
      1_000n,
    ]);
  }, 600_000);

  it('consumer: requests made by the Solidity examples are sent again through them, from the same accounts', async () => {
    const entries = readTape(path.join(tapes, 'consumer.ndjson'));
    // The tape holds each account's transaction to the consumer contract, not to the gateway.
    const gateway = getContractAddress({ from: devAccounts()[0]!.address, nonce: 0n }).toLowerCase();
    const to = entries.map((e) => e.transaction?.to?.toLowerCase());
    for (const [i, e] of entries.entries()) {
      expect(to[i]).toMatch(/^0x[0-9a-f]{40}$/);
      expect(to[i]).not.toBe(gateway);
      expect(e.call).toMatch(/^0x[0-9a-f]+$/);
    }
    // Recorded as check, bid, check, bid: two consumer contracts, each called twice.
    expect([to[2], to[3]]).toEqual([to[0], to[1]]);
    expect(to[0]).not.toBe(to[1]);
    const outcomes = await replayed('consumer');
    // PrivateCheck 700 passes, 600 does not; both auction bids are accepted.
    expect([
      abi(['bool'], outcomes[0]!.publicOutput)[0],
      abi(['bool'], outcomes[2]!.publicOutput)[0],
    ]).toEqual([true, false]);
    expect([
      abi(['uint8', 'bool'], outcomes[1]!.publicOutput)[1],
      abi(['uint8', 'bool'], outcomes[3]!.publicOutput)[1],
    ]).toEqual([true, true]);
  }, 600_000);
});

describe('the comparison rule (docs/PROTOCOL.md §8)', () => {
  /** A Phala-style answer, as a replay reads it from the chain. */
  const phala: Outcome = {
    kind: 'substrate.event',
    chain: 'phala',
    requestId: `0x${'ab'.repeat(32)}`,
    result: 'phalaContracts.RequestFulfilled',
    publicOutput: '0x01',
    sealedOutput: '0x',
  };
  const golden = readTape(path.join(tapes, 'evm.golden.ndjson')).map((g) => outcomeOf(g));

  it('EVM outcomes are matched by place, not id: new ids agree, answers in another order do not', () => {
    const renamed = golden.map((o, i) => ({ ...o, requestId: `0x${`${i + 1}`.repeat(64)}` as Hex }));
    expect(compareOutcomes(renamed, golden)).toEqual([]);
    expect(compareOutcomes(golden, [...golden].reverse())).toEqual([
      expect.stringMatching(
        /^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): publicOutput is 0x[0-9a-f]+, golden 0x/,
      ),
      expect.stringMatching(
        /^entry 2 \(EVM request 2, golden 0x[0-9a-f]{64}\): publicOutput is 0x[0-9a-f]+, golden 0x/,
      ),
    ]);
  });

  it('a Phala-style answer where the golden tape has an EVM one differs in kind, chain, result and output', () => {
    expect(compareOutcomes([phala], golden.slice(0, 1)).map((d) => d.replace(/ is .*/, ''))).toEqual([
      expect.stringMatching(/^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): kind$/),
      expect.stringMatching(/^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): chain$/),
      expect.stringMatching(/^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): result$/),
      expect.stringMatching(/^entry 1 \(EVM request 1, golden 0x[0-9a-f]{64}\): publicOutput$/),
    ]);
  });

  it('a Phala-style or XCM id that differs is a difference, with the reason replay gives', () => {
    const moved = { ...phala, requestId: `0x${'cd'.repeat(32)}` as Hex };
    expect(compareOutcomes([moved], [phala], (i) => (i === 0 ? 'the nonce moved' : undefined))).toEqual([
      `entry 1 (${phala.requestId}): requestId is ${moved.requestId}, golden ${phala.requestId} (the nonce moved)`,
    ]);
  });
});
