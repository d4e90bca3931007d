import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/base/errors.js';
import {
  accountId32,
  accountKey20,
  buildRequestProgram,
  buildResponseProgram,
  convertXcm,
  decodeXcm,
  encodeLocation,
  formatXcm,
  fungibleAsset,
  generalKey,
  here,
  join,
  junctionsOf,
  location,
  locationText,
  messageHash,
  parachain,
  parent,
  sameLocation,
  sibling,
  siblingAccount,
  weight,
} from '../../src/xcm/index.js';

const alice = `0x${'d4'.repeat(32)}` as const;
const topic = `0x${'5a'.repeat(32)}` as const;
const call = '0x2a0101020304' as const; // an encoded call (pallet 42, call 1, args)

describe('locations', () => {
  it('builds the usual locations in the V4/V5 JSON form', () => {
    expect(here()).toEqual({ parents: 0, interior: { here: null } });
    expect(parent()).toEqual({ parents: 1, interior: { here: null } });
    expect(parachain(2035)).toEqual({ parents: 0, interior: { x1: [{ parachain: 2035 }] } });
    expect(sibling(2000)).toEqual({ parents: 1, interior: { x1: [{ parachain: 2000 }] } });
    expect(siblingAccount(2000, alice)).toEqual({
      parents: 1,
      interior: { x2: [{ parachain: 2000 }, { accountId32: { network: null, id: alice } }] },
    });
    expect(accountKey20(`0x${'ee'.repeat(20)}`, { ethereum: { chainId: 1 } })).toEqual({
      accountKey20: { network: { ethereum: { chainId: 1 } }, key: `0x${'ee'.repeat(20)}` },
    });
    expect(generalKey('0x0102')).toEqual({ generalKey: { length: 2, data: `0x0102${'00'.repeat(30)}` } });
  });

  it('encodes them as real VersionedLocation bytes', () => {
    expect(encodeLocation({ v4: sibling(2000) }).hex).toBe('0x04010100411f');
    expect(encodeLocation({ v5: siblingAccount(2000, alice) }).hex).toBe(
      `0x05010200411f0100${'d4'.repeat(32)}`,
    );
    expect(encodeLocation({ v4: join(sibling(1000), generalKey('0xabcd')) }).json).toEqual({
      v4: {
        parents: 1,
        interior: {
          x2: [{ parachain: 1000 }, { generalKey: { length: 2, data: `0xabcd${'00'.repeat(30)}` } }],
        },
      },
    });
  });

  it('refuses bad parts', () => {
    expect(() => accountId32('0x1234')).toThrowError(InvalidInputError);
    expect(() => generalKey(`0x${'00'.repeat(33)}`)).toThrowError(/at most 32 bytes/);
    expect(() =>
      location(
        1,
        Array.from({ length: 9 }, () => ({ parachain: 1 })),
      ),
    ).toThrowError(/at most 8 junctions/);
    expect(() => location(256)).toThrowError(/0..255/);
    expect(() => sibling(-1)).toThrowError(/u32/);
  });

  it('compares and prints locations across V3 and V4 forms', () => {
    const v3 = { parents: 1, interior: { x1: { parachain: 2000 } } };
    expect(sameLocation(v3, sibling(2000))).toBe(true);
    expect(sameLocation(v3, sibling(2001))).toBe(false);
    expect(junctionsOf(v3)).toEqual([{ parachain: 2000 }]);
    expect(locationText(siblingAccount(2000, alice))).toBe(`../Parachain(2000)/AccountId32(${alice})`);
    expect(locationText(here())).toBe('Here');
  });
});

describe('request and response programs (PROTOCOL.md §9)', () => {
  const fees = fungibleAsset(parent(), 10_000_000_000n);

  it('builds the V5 request: WithdrawAsset, BuyExecution, Transact, SetTopic', () => {
    const p = buildRequestProgram({ fees, call, topic, originKind: 'SovereignAccount' });
    expect(p.version).toBe(5);
    expect(p.id).toBe(topic);
    expect(p.topic).toBe(topic);
    expect(p.hash).toBe(messageHash(p.bytes));
    expect(p.instructions).toEqual([
      { withdrawAsset: [fees] },
      { buyExecution: { fees, weightLimit: { unlimited: null } } },
      { transact: { originKind: 'SovereignAccount', fallbackMaxWeight: null, call: { encoded: call } } },
      { setTopic: topic },
    ]);
    expect(decodeXcm(p.bytes).json).toEqual(p.json);
  });

  it('builds the V4 request after DescendOrigin, with the weight V4 requires', () => {
    const w = weight(2_000_000_000n, 100_000);
    const p = buildRequestProgram({
      version: 4,
      fees,
      call,
      topic,
      originKind: 'Xcm',
      descendOrigin: accountId32(alice),
      transactWeight: w,
      weightLimit: weight(5e9, 2e5),
    });
    expect(p.instructions.map((i) => Object.keys(i as object)[0])).toEqual([
      'descendOrigin',
      'withdrawAsset',
      'buyExecution',
      'transact',
      'setTopic',
    ]);
    expect(p.instructions[0]).toEqual({
      descendOrigin: { x1: [{ accountId32: { network: null, id: alice } }] },
    });
    expect(p.instructions[3]).toEqual({
      transact: { originKind: 'Xcm', requireWeightAtMost: w, call: { encoded: call } },
    });
    expect(() => buildRequestProgram({ version: 4, fees, call, topic })).toThrowError(
      /require_weight_at_most/,
    );
    // the same program in V5 carries the weight as the fallback
    expect(convertXcm(p, 5).instructions[3]).toEqual({
      transact: { originKind: 'Xcm', fallbackMaxWeight: w, call: { encoded: call } },
    });
  });

  it('can refund leftover fees before the topic', () => {
    const p = buildRequestProgram({ fees, call, topic, refundTo: siblingAccount(2000, alice) });
    expect(p.instructions.slice(-3).map((i) => Object.keys(i as object)[0])).toEqual([
      'refundSurplus',
      'depositAsset',
      'setTopic',
    ]);
    expect(p.id).toBe(topic);
  });

  it('builds unpaid and paid responses', () => {
    const responseTopic = `0x${'6b'.repeat(32)}` as const;
    const unpaid = buildResponseProgram({ payment: { kind: 'unpaid' }, call, topic: responseTopic });
    expect(unpaid.instructions).toEqual([
      { unpaidExecution: { weightLimit: { unlimited: null }, checkOrigin: null } },
      { transact: { originKind: 'Xcm', fallbackMaxWeight: null, call: { encoded: call } } },
      { setTopic: responseTopic },
    ]);
    const paid = buildResponseProgram({
      version: 4,
      payment: { kind: 'paid', fees },
      call,
      topic: responseTopic,
      transactWeight: weight(1, 1),
    });
    expect(paid.instructions.map((i) => Object.keys(i as object)[0])).toEqual([
      'withdrawAsset',
      'buyExecution',
      'transact',
      'setTopic',
    ]);
    expect(paid.id).toBe(responseTopic);
  });

  it('refuses bad parameters', () => {
    expect(() => buildRequestProgram({ fees, call, topic: '0x1234' })).toThrowError(/topic/);
    expect(() => fungibleAsset(parent(), 0)).toThrowError(/above zero/);
    expect(() => buildRequestProgram({ fees, call: '0xzz' as `0x${string}`, topic })).toThrowError(/call/);
  });

  it('prints a request readably', () => {
    const text = formatXcm(buildRequestProgram({ fees, call, topic, descendOrigin: accountId32(alice) }));
    expect(text.split('\n')).toEqual([
      `XCM V5, 5 instruction(s), ${buildRequestProgram({ fees, call, topic, descendOrigin: accountId32(alice) }).bytes.length} bytes`,
      `  id    ${topic} (SetTopic)`,
      expect.stringMatching(/^ {2}hash {2}0x[0-9a-f]{64}$/),
      `   0  DescendOrigin AccountId32(${alice})`,
      '   1  WithdrawAsset [10000000000 × ..]',
      '   2  BuyExecution fees=10000000000 × .. weightLimit=Unlimited',
      `   3  Transact originKind=SovereignAccount fallbackMaxWeight=None call=${call} (6 bytes)`,
      `   4  SetTopic ${topic}`,
    ]);
  });
});
