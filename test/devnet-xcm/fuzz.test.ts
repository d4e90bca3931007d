import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/base/bytes.js';
import { type ChainHarness, palletEvents, startChainHarness } from '../../src/devnet/xcm/harness.js';
import { buildRequestProgram, buildResponseProgram, fungibleAsset } from '../../src/xcm/builders.js';
import { encodeXcm } from '../../src/xcm/encode.js';
import type { JsonValue } from '../../src/xcm/json.js';
import { accountId32, here, location, parent, sibling } from '../../src/xcm/location.js';
import { encodeXcmpPage } from '../../src/xcm/xcmp.js';
import { prng } from '../helpers/prng.js';

/**
 * Hostile XCM into the devnet's message paths: random bytes, mutated real programs and random
 * instruction streams arrive as downward messages, XCMP pages and upward messages. Every block is
 * still built, pallet code never throws, every downward message gets exactly one outcome event,
 * and the chain still runs a good message afterwards. Seeded, so a failure reproduces.
 */

const rand = prng(0x5eed_2035);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const hex32 = () => `0x${Buffer.from(bytes(32)).toString('hex')}` as Hex;

const amount = () => pick(['1', '1000', '1000000000000', '340282366920938463463374607431768211455']);
const loc = () =>
  pick([here(), parent(), sibling(2035), sibling(int(5000)), location(0, [accountId32(hex32())])]);
const asset = () => ({ id: loc(), fun: { fungible: amount() } });
const limit = () =>
  pick<JsonValue>([{ unlimited: null }, { limited: { refTime: int(1e12), proofSize: int(1e6) } }]);

function instruction(): JsonValue {
  switch (int(16)) {
    case 0:
      return { withdrawAsset: [asset()] };
    case 1:
      return { reserveAssetDeposited: [asset()] };
    case 2:
      return { buyExecution: { fees: asset(), weightLimit: limit() } };
    case 3:
      return {
        depositAsset: {
          assets: pick<JsonValue>([
            { wild: { allCounted: int(3) } },
            { wild: { all: null } },
            { definite: [asset()] },
          ]),
          beneficiary: loc(),
        },
      };
    case 4:
      return {
        transact: {
          originKind: pick(['Native', 'SovereignAccount', 'Superuser', 'Xcm']),
          fallbackMaxWeight: pick([null, { refTime: int(1e13), proofSize: int(1e6) }]),
          call: { encoded: `0x${Buffer.from(bytes(int(40))).toString('hex')}` },
        },
      };
    case 5:
      return { descendOrigin: { x1: [accountId32(hex32())] } };
    case 6:
      return { clearOrigin: null };
    case 7:
      return {
        unpaidExecution: { weightLimit: limit(), checkOrigin: pick([null, parent(), sibling(2035)]) },
      };
    case 8:
      return { setTopic: hex32() };
    case 9:
      return { clearTopic: null };
    case 10:
      return { refundSurplus: null };
    case 11:
      return { expectTransactStatus: pick<JsonValue>([{ success: null }, { error: '0x01' }]) };
    case 12:
      return { trap: int(100) };
    case 13:
      return { setAppendix: [{ clearOrigin: null }] };
    case 14:
      return { burnAsset: [asset()] };
    default:
      return { clearTransactStatus: null };
  }
}

function randomProgram(): Uint8Array {
  const version = pick([3, 4, 5]);
  const instructions = Array.from({ length: 1 + int(8) }, instruction);
  if (rand() < 0.5)
    instructions.unshift({ unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } });
  try {
    return encodeXcm({ [`v${version}`]: instructions.map(downgrade(version)) }).bytes;
  } catch {
    return encodeXcm({ v5: instructions }).bytes;
  }
}

/** V3/V4 Transact has require_weight_at_most instead of fallback_max_weight. */
function downgrade(version: number) {
  return (i: JsonValue): JsonValue => {
    if (version === 5 || !i || typeof i !== 'object' || Array.isArray(i) || !('transact' in i)) return i;
    const t = i.transact as { originKind: string; fallbackMaxWeight: JsonValue; call: JsonValue };
    return {
      transact: {
        originKind: t.originKind,
        requireWeightAtMost: t.fallbackMaxWeight ?? { refTime: 1, proofSize: 1 },
        call: t.call,
      },
    };
  };
}

const seeds = [
  buildRequestProgram({
    fees: fungibleAsset(here(), 10n ** 12n),
    call: '0x2a02aa',
    topic: hex32(),
    descendOrigin: accountId32(hex32()),
    originKind: 'Xcm',
  }).bytes,
  buildResponseProgram({ payment: { kind: 'unpaid' }, call: '0x3208aa', topic: hex32() }).bytes,
  buildResponseProgram({
    version: 4,
    payment: { kind: 'paid', fees: fungibleAsset(here(), 5n) },
    call: '0x00',
    topic: hex32(),
    transactWeight: { refTime: 1, proofSize: 1 },
  }).bytes,
];

function mutate(seed: Uint8Array): Uint8Array {
  const out = Array.from(seed);
  for (let i = 0, n = 1 + int(4); i < n; i++) {
    const at = int(out.length + 1);
    switch (int(4)) {
      case 0:
        if (out.length) out[at % out.length] = int(256);
        break;
      case 1:
        out.splice(at, int(8));
        break;
      case 2:
        out.splice(at, 0, ...bytes(1 + int(8)));
        break;
      default:
        out.length = Math.min(out.length, at);
    }
  }
  return Uint8Array.from(out);
}

function hostileMessage(): Uint8Array {
  switch (int(4)) {
    case 0:
      return bytes(int(200));
    case 1: {
      const b = bytes(1 + int(200));
      b[0] = pick([3, 4, 5]);
      return b;
    }
    case 2:
      return mutate(pick(seeds));
    default:
      return randomProgram();
  }
}

function hostilePage(): Uint8Array {
  if (rand() < 0.3) return bytes(int(300));
  const messages = Array.from({ length: 1 + int(4) }, hostileMessage);
  const page = encodeXcmpPage(messages);
  if (rand() < 0.3) page[0] = int(5);
  return page;
}

const OUTCOMES = new Set(['Processed', 'ProcessingFailed', 'OverweightEnqueued']);
const BLOCKS = 20;
const PER_BLOCK = 60;

let para: ChainHarness;
let relay: ChainHarness;

beforeAll(async () => {
  [para, relay] = await Promise.all([startChainHarness('phala'), startChainHarness('relay')]);
});

afterAll(async () => {
  await Promise.all([para?.stop(), relay?.stop()]);
});

describe('fuzzed XCM into the executor and the message paths', () => {
  it('never crashes a parachain: every block is built, each downward message has one outcome', async () => {
    let delivered = 0;
    const tally = new Map<string, number>();
    for (let b = 0; b < BLOCKS; b++) {
      const downward = Array.from({ length: PER_BLOCK }, hostileMessage);
      const horizontal: [number, Uint8Array[]][] = [
        [2000, Array.from({ length: 5 }, hostilePage)],
        [int(5000), [hostilePage()]],
      ];
      const { events, block } = await para.deliver({ downward, horizontal });
      expect(block.number).toBe(b + 1);
      const fromParent = palletEvents(events, 'MessageQueue').filter(
        (e) => OUTCOMES.has(e.name) && (e.fields.origin as { tag: string }).tag === 'Parent',
      );
      expect(fromParent).toHaveLength(downward.length);
      delivered += downward.length;
      for (const e of palletEvents(events, 'MessageQueue')) {
        const kind =
          e.name === 'Processed'
            ? `Processed(${e.fields.success})`
            : e.name === 'ProcessingFailed'
              ? `ProcessingFailed(${(e.fields.error as { tag: string }).tag})`
              : e.name;
        tally.set(kind, (tally.get(kind) ?? 0) + 1);
      }
    }
    expect(delivered).toBe(BLOCKS * PER_BLOCK);
    // The inputs reach every outcome: run, failed in execution, refused unformatted or unsupported.
    for (const kind of [
      'Processed(true)',
      'Processed(false)',
      'ProcessingFailed(BadFormat)',
      'ProcessingFailed(Unsupported)',
    ])
      expect(tally.get(kind) ?? 0, kind).toBeGreaterThan(0);
    expect(para.errors).toEqual([]);
    // Still a working chain: a good message from the relay chain runs.
    const good = encodeXcm({
      v5: [
        { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } },
        { clearOrigin: null },
      ],
    }).bytes;
    const after = await para.deliver({ downward: [good] });
    expect(palletEvents(after.events, 'MessageQueue').map((e) => [e.name, e.fields.success])).toEqual([
      ['Processed', true],
    ]);
  });

  it('never crashes the relay chain: fuzzed upward messages each get one outcome', async () => {
    for (let b = 0; b < BLOCKS / 2; b++) {
      const upward = Array.from({ length: PER_BLOCK }, hostileMessage);
      const { events } = await relay.deliver({ upward: [[2000, upward]] });
      const outcomes = palletEvents(events, 'MessageQueue').filter((e) => OUTCOMES.has(e.name));
      expect(outcomes).toHaveLength(upward.length);
    }
    expect(relay.errors).toEqual([]);
  });
});
