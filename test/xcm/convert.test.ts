import { describe, expect, it } from 'vitest';
import {
  convertAssets,
  convertLocation,
  convertXcm,
  decodeXcm,
  encodeXcm,
  XcmConversionError,
  type XcmVersion,
} from '../../src/xcm/index.js';
import { loadXcmVectors } from './vectors.js';

const vectors = loadXcmVectors();
const here = { parents: 0, interior: { here: null } };
const topic = `0x${'77'.repeat(32)}`;
const WESTEND_GENESIS = '0xe143f23803ac50e8f6f8e62695d1ce9e4e1d68aa36c1cd2cfd15340213f3423e';

/** A value inside JSON, by keys and indexes. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);
}

function conversionError(f: () => unknown): XcmConversionError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(XcmConversionError);
    return error as XcmConversionError;
  }
  throw new Error('converted');
}

describe('converting the captured messages', () => {
  const payFees = new Set([
    'v5_SYNTHETIC_payfees_initiatetransfer.json',
    'v5_assethub_export_to_ethereum_payfees.json',
  ]);

  it.each(vectors.filter((v) => v.version !== 'V2' && !payFees.has(v.file)).map((v) => [v.file, v] as const))(
    '%s goes to V3, V4 and V5 and back to the same bytes',
    (_f, v) => {
      const original = decodeXcm(v.hex);
      for (const to of [3, 4, 5] as XcmVersion[]) {
        const converted = convertXcm(original, to);
        expect(converted.version).toBe(to);
        expect(converted.instructions.map((i) => Object.keys(i as object)[0])).toEqual(v.instructions);
        if (original.topic) expect(converted.id).toBe(original.id);
        expect(convertXcm(converted, original.version).hex).toBe(v.hex);
      }
    },
  );

  it.each([...payFees].map((f) => [f]))('%s (V5 PayFees) cannot go to V4 or V3', (file) => {
    const v = vectors.find((x) => x.file === file)!;
    for (const to of [4, 3] as XcmVersion[]) {
      const error = conversionError(() => convertXcm(decodeXcm(v.hex), to));
      expect(error.from).toBe(5);
      expect(error.to).toBe(4);
      expect(error.shortMessage).toMatch(/payFees: PayFees has no XCM V4 equivalent/);
    }
  });

  it.each(vectors.filter((v) => v.version === 'V2').map((v) => [v.file, v] as const))(
    '%s (V2) converts up to V3, V4 and V5',
    (_f, v) => {
      const original = decodeXcm(v.hex);
      const v3 = convertXcm(original, 3);
      const v5 = convertXcm(original, 5);
      expect(convertXcm(v3, 5).hex).toBe(v5.hex);
      expect(convertXcm(v5, 3).hex).toBe(v3.hex);
      // V2 DepositAsset { assets: Wild(All), max_assets: 1 } → V3 Wild(AllCounted(1))
      const deposit = v3.instructions.find((i) => 'depositAsset' in (i as object)) as {
        depositAsset: { assets: unknown };
      };
      expect(deposit.depositAsset.assets).toEqual({ wild: { allCounted: 1 } });
      expect(() => convertXcm(original, 2)).toThrowError(/V2 is read-only/);
    },
  );

  it('applies the V2 → V3 rules of polkadot-sdk to a real V2 message', () => {
    const v = vectors.find((x) => x.file === 'v2_hrmp_hydra_framed.json')!;
    const v3 = convertXcm(decodeXcm(v.hex), 3).json;
    const generalKey = at(v3, 'v3', 0, 'withdrawAsset', 0, 'id', 'concrete', 'interior', 'x1', 'generalKey');
    expect(generalKey).toEqual({
      length: 21,
      data: `0x0254a37a01cd75b616d63e0ab665bffdb0143c52ae${'00'.repeat(11)}`,
    });
    expect(at(v3, 'v3', 2, 'buyExecution', 'weightLimit')).toEqual({
      limited: { refTime: 5000000000, proofSize: 65536 },
    });
    expect(
      at(v3, 'v3', 3, 'depositAsset', 'beneficiary', 'interior', 'x1', 'accountId32', 'network'),
    ).toBeNull(); // V2 Any
  });
});

describe('version rules', () => {
  it('refuses a V3 abstract asset id in V4', () => {
    const v3 = encodeXcm({
      v3: [{ withdrawAsset: [{ id: { abstract: `0x${'01'.repeat(32)}` }, fun: { fungible: 5 } }] }],
    });
    const error = conversionError(() => convertXcm(v3, 4));
    expect(error.path).toBe('xcm.v3[0].withdrawAsset[0].id.abstract');
    expect(error.shortMessage).toMatch(/abstract asset ids have no XCM V4 equivalent/);
    const concrete = encodeXcm({
      v3: [{ withdrawAsset: [{ id: { concrete: here }, fun: { fungible: 5 } }] }],
    });
    expect(convertXcm(concrete, 4).json).toEqual({
      v4: [{ withdrawAsset: [{ id: here, fun: { fungible: 5 } }] }],
    });
  });

  it('maps V3 X1(j) to V4 X1([j]) and back, and X2 both ways', () => {
    const v3 = { v3: { parents: 1, interior: { x2: [{ parachain: 2000 }, { palletInstance: 50 }] } } };
    const v4 = convertLocation(v3, 4);
    expect(v4.json).toEqual({
      v4: { parents: 1, interior: { x2: [{ parachain: 2000 }, { palletInstance: 50 }] } },
    });
    expect(convertLocation({ v3: { parents: 1, interior: { x1: { parachain: 7 } } } }, 5).json).toEqual({
      v5: { parents: 1, interior: { x1: [{ parachain: 7 }] } },
    });
    expect(convertLocation({ v5: { parents: 0, interior: { x1: [{ parachain: 7 }] } } }, 3).json).toEqual({
      v3: { parents: 0, interior: { x1: { parachain: 7 } } },
    });
  });

  it('turns V4 Westend/Rococo into V5 ByGenesis and refuses Wococo', () => {
    const westend = convertLocation(
      { v4: { parents: 1, interior: { x1: [{ globalConsensus: { westend: null } }] } } },
      5,
    );
    expect(westend.json).toEqual({
      v5: { parents: 1, interior: { x1: [{ globalConsensus: { byGenesis: WESTEND_GENESIS } }] } },
    });
    const error = conversionError(() =>
      convertLocation({ v4: { parents: 1, interior: { x1: [{ globalConsensus: { wococo: null } }] } } }, 5),
    );
    expect(error.shortMessage).toMatch(/Wococo has no XCM V5 network id/);
  });

  it('moves Transact weights between V4 require_weight_at_most and V5 fallback_max_weight', () => {
    const call = { encoded: '0x0102' };
    const w = { refTime: 1000, proofSize: 2000 };
    const v4 = encodeXcm({ v4: [{ transact: { originKind: 'Xcm', requireWeightAtMost: w, call } }] });
    expect(convertXcm(v4, 5).instructions).toEqual([
      { transact: { originKind: 'Xcm', fallbackMaxWeight: w, call } },
    ]);
    const noFallback = encodeXcm({
      v5: [{ transact: { originKind: 'Xcm', fallbackMaxWeight: null, call } }],
    });
    const max = '0xffffffffffffffff';
    expect(convertXcm(noFallback, 4).instructions).toEqual([
      { transact: { originKind: 'Xcm', requireWeightAtMost: { refTime: max, proofSize: max }, call } },
    ]);
    expect(convertXcm(noFallback, 3).version).toBe(3);
  });

  it('refuses V5-only errors and instructions in V4', () => {
    const expect5 = encodeXcm({ v5: [{ expectError: [3, { tooManyAssets: null }] }] });
    expect(conversionError(() => convertXcm(expect5, 4)).shortMessage).toMatch(
      /TooManyAssets has no XCM V4 equivalent/,
    );
    const hints = encodeXcm({ v5: [{ setHints: { hints: [{ assetClaimer: { location: here } }] } }] });
    expect(conversionError(() => convertXcm(hints, 4)).shortMessage).toMatch(
      /SetHints has no XCM V4 equivalent/,
    );
    const ok = encodeXcm({ v5: [{ expectError: [3, { barrier: null }] }] });
    expect(convertXcm(ok, 4).instructions).toEqual([{ expectError: [3, { barrier: null }] }]);
  });

  it('keeps the topic, so a program with SetTopic keeps its id in every version', () => {
    const v5 = encodeXcm({ v5: [{ clearOrigin: null }, { setTopic: topic }] });
    for (const to of [3, 4] as XcmVersion[]) expect(convertXcm(v5, to).id).toBe(topic);
  });

  it('converts V2 instructions that changed shape', () => {
    const v2 = encodeXcm(
      {
        v2: [
          {
            queryHolding: {
              queryId: 7,
              dest: { parents: 1, interior: { here: null } },
              assets: { wild: { all: null } },
              maxResponseWeight: 10,
            },
          },
          { transact: { originType: 'Native', requireWeightAtMost: 99, call: { encoded: '0x00' } } },
          { exchangeAsset: { give: { wild: { all: null } }, receive: [] } },
          { subscribeVersion: { queryId: 1, maxResponseWeight: 2 } },
          {
            depositReserveAsset: {
              assets: { wild: { allOf: { id: { concrete: here }, fun: 'Fungible' } } },
              maxAssets: 3,
              dest: here,
              xcm: [],
            },
          },
        ],
      },
      { allowV2: true },
    );
    const proofSize = 65536;
    expect(convertXcm(v2, 3).instructions).toEqual([
      {
        reportHolding: {
          responseInfo: {
            destination: { parents: 1, interior: { here: null } },
            queryId: 7,
            maxWeight: { refTime: 10, proofSize },
          },
          assets: { wild: { all: null } },
        },
      },
      {
        transact: {
          originKind: 'Native',
          requireWeightAtMost: { refTime: 99, proofSize },
          call: { encoded: '0x00' },
        },
      },
      { exchangeAsset: { give: { wild: { all: null } }, want: [], maximal: true } },
      { subscribeVersion: { queryId: 1, maxResponseWeight: { refTime: 2, proofSize } } },
      {
        depositReserveAsset: {
          assets: { wild: { allOfCounted: { id: { concrete: here }, fun: 'Fungible', count: 3 } } },
          dest: here,
          xcm: [],
        },
      },
    ]);
  });

  it('refuses V2 values with no V3 form', () => {
    const v2 = (instructions: unknown[]) => encodeXcm({ v2: instructions }, { allowV2: true });
    const asset = { id: { concrete: here }, fun: { fungible: 1 } };
    const cases: [unknown[], RegExp][] = [
      [
        [
          {
            depositAsset: {
              assets: {
                definite: [
                  asset,
                  { id: { concrete: { parents: 1, interior: { here: null } } }, fun: { fungible: 2 } },
                ],
              },
              maxAssets: 1,
              beneficiary: here,
            },
          },
        ],
        /more assets than max_assets/,
      ],
      [
        [{ withdrawAsset: [{ id: { concrete: here }, fun: { nonFungible: { blob: '0x01' } } }] }],
        /Blob has no XCM V3 equivalent/,
      ],
      [
        [{ withdrawAsset: [{ id: { abstract: `0x${'01'.repeat(33)}` }, fun: { fungible: 1 } }] }],
        /abstract id longer than 32 bytes/,
      ],
      [
        [{ descendOrigin: { x1: { plurality: { id: { named: '0x0102030405' }, part: 'Voice' } } } }],
        /4-byte body name/,
      ],
      [
        [
          {
            queryResponse: {
              queryId: 1,
              response: { executionResult: [0, { unhandledXcmVersion: null }] },
              maxWeight: 1,
            },
          },
        ],
        /UnhandledXcmVersion has no XCM V3 equivalent/,
      ],
    ];
    for (const [instructions, message] of cases) {
      const error = conversionError(() => convertXcm(v2(instructions), 3));
      expect(error.shortMessage).toMatch(message);
    }
    const named = v2([
      { descendOrigin: { x1: { plurality: { id: { named: '0x61626364' }, part: 'Voice' } } } },
    ]);
    expect(convertXcm(named, 3).instructions).toEqual([
      { descendOrigin: { x1: { plurality: { id: { moniker: '0x61626364' }, part: { voice: null } } } } },
    ]);
    const full = v2([
      {
        queryResponse: {
          queryId: 1,
          response: { executionResult: [0, { multiLocationFull: null }] },
          maxWeight: 1,
        },
      },
    ]);
    expect(at(convertXcm(full, 3).instructions, 0, 'queryResponse', 'response')).toEqual({
      executionResult: [0, { locationFull: null }],
    });
  });

  it('converts V2 locations and assets (variant index 1)', () => {
    expect(convertLocation('0x01010100411f', 4).hex).toBe('0x04010100411f');
    const assets = convertAssets({ v2: [{ id: { concrete: here }, fun: { fungible: 10 } }] }, 5);
    expect(assets.json).toEqual({ v5: [{ id: here, fun: { fungible: 10 } }] });
  });
});
