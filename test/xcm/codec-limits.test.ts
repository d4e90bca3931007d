import { compactToU8a } from '@polkadot/util';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../src/base/bytes.js';
import { runtimeTypesFor } from '../../src/xcm/runtime-types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, decodeXcm, XcmDecodeError } from '../../src/xcm/index.js';

/**
 * The codec's limits as polkadot-sdk applies them at decode: asset lists sorted and
 * deduplicated (`Assets::from_sorted_and_deduplicated`, "Out of order"), byte strings bounded by
 * the message cap alone, BoundedVec fields by their real bounds, and every limit error naming its
 * limit, its value and the size found. Bytes are crafted by hand: the encoder refuses them too.
 */

const b = (...xs: number[]) => Uint8Array.from(xs);
const compact = (n: number) => compactToU8a(n);

/** The variant index of an instruction in a version's Instruction enum, from the real metadata. */
function ix(version: 2 | 3 | 4 | 5, name: string): number {
  const rt = runtimeTypesFor(version);
  const xcm = rt.table.get(rt.inner.xcm.get(version)!);
  if (xcm.kind !== 'composite') throw new Error('Xcm is not a composite');
  const seq = rt.table.get(xcm.fields[0]!.type);
  if (seq.kind !== 'sequence') throw new Error('Xcm is not a sequence');
  const instruction = rt.table.get(seq.elem);
  if (instruction.kind !== 'variant') throw new Error('Instruction is not an enum');
  const v = instruction.byName.get(name.toLowerCase());
  if (!v) throw new Error(`no instruction ${name} in V${version}`);
  return v.index;
}

/** An asset id: a location `parents` up, optionally `/GeneralIndex(index)`. V2/V3 wrap it in Concrete. */
function assetId(version: number, parents: number, index?: number): Uint8Array {
  const interior = index === undefined ? b(0) : concatBytes(b(1, 5), compact(index)); // X1(GeneralIndex);
  const location = concatBytes(b(parents), interior);
  return version >= 4 ? location : concatBytes(b(0), location);
}
const fungible = (amount: number) => concatBytes(b(0), compact(amount));
/** NonFungible(AssetInstance::Index(n)). */
const nonFungible = (n: number) => concatBytes(b(1, 1), compact(n));

function withdraw(version: 2 | 3 | 4 | 5, assets: Uint8Array[]): Uint8Array {
  return concatBytes(
    b(version),
    compact(1),
    b(ix(version, 'WithdrawAsset')),
    compact(assets.length),
    ...assets,
  );
}

function refusal(input: Uint8Array): XcmDecodeError {
  try {
    decodeXcm(input);
  } catch (error) {
    expect(error).toBeInstanceOf(XcmDecodeError);
    return error as XcmDecodeError;
  }
  throw new Error(`accepted ${toHex(input).slice(0, 80)}…`);
}

describe('asset lists must be sorted and deduplicated (polkadot-sdk "Out of order")', () => {
  for (const v of [2, 3, 4, 5] as const) {
    it(`V${v}: refuses unsorted ids, repeated fungibles and repeated instances; accepts sorted lists`, () => {
      const a0 = concatBytes(assetId(v, 0), fungible(5));
      const a1 = concatBytes(assetId(v, 1), fungible(5));
      expect(decodeXcm(withdraw(v, [a0, a1])).instructions).toHaveLength(1);

      const unsorted = refusal(withdraw(v, [a1, a0]));
      expect(unsorted.reason).toBe('assets-out-of-order');
      expect(unsorted.shortMessage).toMatch(/asset 1 sorts before asset 0/);
      expect(unsorted.shortMessage).toMatch(/Out of order/);

      // One id twice as fungible: the chain wants one merged entry, whatever the amounts.
      const twice = refusal(withdraw(v, [a0, concatBytes(assetId(v, 0), fungible(6))]));
      expect(twice.reason).toBe('assets-out-of-order');
      expect(twice.shortMessage).toMatch(/fungible with the same id/);
      expect(refusal(withdraw(v, [a0, a0])).reason).toBe('assets-out-of-order');

      // Non-fungible instances of one id: ascending and distinct is fine, a repeat is not.
      const nf1 = concatBytes(assetId(v, 0), nonFungible(1));
      const nf2 = concatBytes(assetId(v, 0), nonFungible(2));
      expect(decodeXcm(withdraw(v, [nf1, nf2])).instructions).toHaveLength(1);
      expect(refusal(withdraw(v, [nf2, nf1])).reason).toBe('assets-out-of-order');
      expect(refusal(withdraw(v, [nf1, nf1])).shortMessage).toMatch(/repeats asset 0/);
      // Fungible sorts before NonFungible for one id.
      expect(decodeXcm(withdraw(v, [a0, nf1])).instructions).toHaveLength(1);
      expect(refusal(withdraw(v, [nf1, a0])).reason).toBe('assets-out-of-order');
    });

    it(`V${v}: orders integers by value, not by their compact encoding`, () => {
      // GeneralIndex(1) encodes as 0x04 and GeneralIndex(64) as 0x0101: bytes would sort 64 first.
      const gi1 = concatBytes(assetId(v, 0, 1), fungible(1));
      const gi64 = concatBytes(assetId(v, 0, 64), fungible(1));
      expect(decodeXcm(withdraw(v, [gi1, gi64])).instructions).toHaveLength(1);
      expect(refusal(withdraw(v, [gi64, gi1])).reason).toBe('assets-out-of-order');
      // Here (interior 0) sorts before X1 (interior 1) at the same parents.
      const here = concatBytes(assetId(v, 0), fungible(1));
      expect(decodeXcm(withdraw(v, [here, gi1])).instructions).toHaveLength(1);
      expect(refusal(withdraw(v, [gi1, here])).reason).toBe('assets-out-of-order');
    });
  }

  for (const v of [3, 4, 5] as const) {
    it(`V${v}: checks asset lists inside nested programs and asset filters`, () => {
      const a0 = concatBytes(assetId(v, 0), fungible(5));
      const a1 = concatBytes(assetId(v, 1), fungible(5));
      const inner = withdraw(v, [a1, a0]).subarray(1); // the unversioned program
      const appendix = concatBytes(b(v), compact(2), b(ix(v, 'ClearOrigin'), ix(v, 'SetAppendix')), inner);
      const nested = refusal(appendix);
      expect(nested.reason).toBe('assets-out-of-order');
      expect(nested.offset).toBeGreaterThan(4);
      const sortedInner = withdraw(v, [a0, a1]).subarray(1);
      expect(
        decodeXcm(concatBytes(b(v), compact(2), b(ix(v, 'ClearOrigin'), ix(v, 'SetAppendix')), sortedInner))
          .instructions,
      ).toHaveLength(2);

      // DepositAsset { assets: Definite([a1, a0]), ... }: the filter's list is checked too.
      const beneficiary = b(0, 0);
      const deposit = (list: Uint8Array[]) =>
        concatBytes(
          b(v),
          compact(1),
          b(ix(v, 'DepositAsset'), 0),
          compact(list.length),
          ...list,
          beneficiary,
        );
      expect(decodeXcm(deposit([a0, a1])).instructions).toHaveLength(1);
      expect(refusal(deposit([a1, a0])).reason).toBe('assets-out-of-order');
    });
  }
});

describe('byte strings up to the message cap; bounded fields at their real bounds', () => {
  /** Transact with a call of `n` bytes (V3/V4: weight; V5: no fallback weight). */
  function transact(version: 3 | 4 | 5, n: number): Uint8Array {
    const weight = version === 5 ? b(0) : b(0, 0);
    return concatBytes(
      b(version),
      compact(1),
      b(ix(version, 'Transact'), 1),
      weight,
      compact(n),
      new Uint8Array(n).fill(7),
    );
  }

  for (const v of [3, 4, 5] as const) {
    it(`V${v}: accepts a Transact call of 65,537 bytes and one that fills the 128 KiB cap`, () => {
      expect(decodeXcm(transact(v, 65_537)).instructions).toHaveLength(1);
      const overhead = transact(v, 100_000).length - 100_000;
      const fill = DEFAULT_MAX_MESSAGE_BYTES - overhead;
      const full = transact(v, fill);
      expect(full.length).toBe(DEFAULT_MAX_MESSAGE_BYTES);
      expect(decodeXcm(full).bytes.length).toBe(DEFAULT_MAX_MESSAGE_BYTES);

      const over = refusal(transact(v, fill + 1));
      expect(over.reason).toBe('too-large');
      expect(over.limit).toEqual({
        name: 'maxBytes (message cap)',
        max: DEFAULT_MAX_MESSAGE_BYTES,
        actual: DEFAULT_MAX_MESSAGE_BYTES + 1,
      });
      expect(over.shortMessage).toMatch(/limit maxBytes \(message cap\) = 131072, got 131073/);
    });
  }

  it('a length prefix beyond the input is refused as such, naming the bytes left', () => {
    const lying = concatBytes(
      b(4),
      compact(1),
      b(ix(4, 'Transact'), 1, 0, 0),
      compact(70_000),
      new Uint8Array(10),
    );
    const error = refusal(lying);
    expect(error.reason).toBe('too-long');
    expect(error.shortMessage).toMatch(/length 70000 is more than the 10 bytes left in the input/);
  });

  for (const v of [3, 4, 5] as const) {
    it(`V${v}: ExpectTransactStatus error bytes are bounded by MaxDispatchErrorLen (128)`, () => {
      const status = (n: number) =>
        concatBytes(b(v), compact(1), b(ix(v, 'ExpectTransactStatus'), 1), compact(n), new Uint8Array(n));
      expect(decodeXcm(status(128)).instructions).toHaveLength(1);
      const error = refusal(status(129));
      expect(error.reason).toBe('bound-exceeded');
      expect(error.limit).toEqual({ name: 'MaxDispatchErrorLen', max: 128, actual: 129 });
      expect(error.shortMessage).toMatch(/limit MaxDispatchErrorLen = 128, got 129/);
    });
  }

  for (const v of [3, 4, 5] as const) {
    it(`V${v}: PalletsInfo responses: names up to MaxPalletNameLen (48), up to MaxPalletsInfo (64) pallets`, () => {
      /** PalletInfo { index, name, module_name, major, minor, patch } with a name of `n` bytes. */
      const pallet = (n: number) =>
        concatBytes(compact(0), compact(n), new Uint8Array(n).fill(0x61), compact(1), b(0x61, 0, 0, 0));
      const response = (pallets: Uint8Array[]) =>
        concatBytes(
          b(v),
          compact(1),
          b(ix(v, 'QueryResponse')),
          compact(7), // query_id
          b(4), // Response::PalletsInfo
          compact(pallets.length),
          ...pallets,
          b(0, 0), // max_weight
          b(0), // querier: None
        );
      expect(decodeXcm(response([pallet(48)])).instructions).toHaveLength(1);
      expect(refusal(response([pallet(49)])).limit).toEqual({
        name: 'MaxPalletNameLen',
        max: 48,
        actual: 49,
      });
      expect(decodeXcm(response(Array(64).fill(pallet(1)))).instructions).toHaveLength(1);
      expect(refusal(response(Array(65).fill(pallet(1)))).limit).toEqual({
        name: 'MaxPalletsInfo',
        max: 64,
        actual: 65,
      });
    });
  }

  it('V5: SetHints takes one hint (HintNumVariants) and InitiateTransfer six filters (MaxAssetTransferFilters)', () => {
    const claimer = b(0, 0, 0); // Hint::AssetClaimer { location: Here }
    const hints = (n: number) =>
      concatBytes(b(5), compact(1), b(ix(5, 'SetHints')), compact(n), ...Array(n).fill(claimer));
    expect(decodeXcm(hints(1)).instructions).toHaveLength(1);
    expect(refusal(hints(2)).limit).toEqual({ name: 'HintNumVariants', max: 1, actual: 2 });

    const all = b(0, 1, 0); // AssetTransferFilter::Teleport(AssetFilter::Wild(All))
    const transfer = (n: number) =>
      concatBytes(
        b(5),
        compact(1),
        b(ix(5, 'InitiateTransfer'), 0, 0), // destination: Here
        b(0), // remote_fees: None
        b(0), // preserve_origin: false
        compact(n),
        ...Array(n).fill(all),
        compact(0), // remote_xcm: empty
      );
    expect(decodeXcm(transfer(6)).instructions).toHaveLength(1);
    const error = refusal(transfer(7));
    expect(error.reason).toBe('bound-exceeded');
    expect(error.limit).toEqual({ name: 'MaxAssetTransferFilters', max: 6, actual: 7 });
  });
});

describe('every limit error names its limit', () => {
  it('instructions, nesting, asset count and message size', () => {
    const clear = ix(4, 'ClearOrigin');
    const program = (n: number) => concatBytes(b(4), compact(n), new Uint8Array(n).fill(clear));
    expect(refusal(program(101)).limit).toEqual({
      name: 'MAX_INSTRUCTIONS_TO_DECODE',
      max: 100,
      actual: 101,
    });

    const appendix = ix(4, 'SetAppendix');
    let nested: Uint8Array = compact(0);
    for (let i = 0; i < 9; i++) nested = concatBytes(compact(1), b(appendix), nested);
    const deep = refusal(concatBytes(b(4), nested));
    expect(deep.reason).toBe('too-deep');
    expect(deep.limit).toEqual({ name: 'MAX_XCM_DECODE_DEPTH', max: 8, actual: 9 });

    const assets = Array.from({ length: 21 }, (_, i) => concatBytes(assetId(4, i), fungible(1)));
    const many = refusal(withdraw(4, assets));
    expect(many.limit).toEqual({ name: 'MAX_ITEMS_IN_ASSETS', max: 20, actual: 21 });
    expect(many.shortMessage).toMatch(/limit MAX_ITEMS_IN_ASSETS = 20, got 21/);

    const small = (() => {
      try {
        decodeXcm(program(10), { limits: { maxBytes: 8 } });
      } catch (error) {
        return error as XcmDecodeError;
      }
      throw new Error('accepted');
    })();
    expect(small.limit).toEqual({ name: 'maxBytes (message cap)', max: 8, actual: 12 });
  });
});
