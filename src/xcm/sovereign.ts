import { compactToU8a } from '@polkadot/util';
import { concatBytes, fromHex, type Hex, toHex, utf8 } from '../base/bytes.js';
import { blake2_256 } from '../crypto/hash.js';
import { isJsonObject, type JsonValue } from './json.js';
import { junctionsOf } from './location.js';

/** How a runtime turned a location into an account (xcm-builder converter names). */
export type SovereignRule =
  | 'ParentIsPreset'
  | 'ChildParachainConvertsVia'
  | 'SiblingParachainConvertsVia'
  | 'AccountId32Aliases'
  | 'HashedDescription';

/**
 * The account a location controls on the chain that interprets it, with the converters most
 * runtimes list in `LocationToAccountId` (in this order): ParentIsPreset,
 * Child/SiblingParachainConvertsVia, AccountId32Aliases, then
 * HashedDescription<DescribeFamily<DescribeAllTerminal>> (what a Transact with
 * OriginKind::SovereignAccount after DescendOrigin runs as). Undefined when none applies.
 */
export function sovereignAccountOf(location: JsonValue): { account: Hex; rule: SovereignRule } | undefined {
  const { parents, junctions } = split(location);
  const [first, ...rest] = junctions;
  if (parents === 1 && !first) return { account: padded(utf8('Parent')), rule: 'ParentIsPreset' };
  const para = first ? junctionValue(first, 'parachain') : undefined;
  if (rest.length === 0 && typeof para === 'number') {
    if (parents === 0)
      return { account: padded(concatBytes(utf8('para'), u32le(para))), rule: 'ChildParachainConvertsVia' };
    if (parents === 1)
      return { account: padded(concatBytes(utf8('sibl'), u32le(para))), rule: 'SiblingParachainConvertsVia' };
  }
  if (parents === 0 && first && rest.length === 0) {
    const account = junctionValue(first, 'accountId32');
    if (isJsonObject(account) && typeof account.id === 'string')
      return { account: account.id.toLowerCase() as Hex, rule: 'AccountId32Aliases' };
  }
  const hashed = hashedDescription(location);
  return hashed ? { account: hashed, rule: 'HashedDescription' } : undefined;
}

/**
 * xcm-builder's `HashedDescription<AccountId, DescribeFamily<DescribeAllTerminal>>`:
 * blake2_256 of `("ChildChain" | "SiblingChain", Compact(para), tail)` or `("ParentChain", tail)`,
 * where tail describes at most one terminal junction (pallet, AccountId32, AccountKey20, body).
 */
export function hashedDescription(location: JsonValue): Hex | undefined {
  const { parents, junctions } = split(location);
  const [first, ...rest] = junctions;
  const para = first ? junctionValue(first, 'parachain') : undefined;
  let description: Uint8Array | undefined;
  if (parents <= 1 && typeof para === 'number') {
    const tail = describeTerminal(rest);
    if (!tail) return undefined;
    const tag = parents === 0 ? 'ChildChain' : 'SiblingChain';
    description = concatBytes(utf8(tag), compactToU8a(para), compactToU8a(tail.length), tail);
  } else if (parents === 1) {
    const tail = describeTerminal(junctions);
    if (!tail) return undefined;
    description = concatBytes(utf8('ParentChain'), compactToU8a(tail.length), tail);
  }
  return description ? toHex(blake2_256(description)) : undefined;
}

/** DescribeAllTerminal: nothing, or one of the junctions it knows (else undefined). */
function describeTerminal(junctions: JsonValue[]): Uint8Array | undefined {
  if (junctions.length === 0) return new Uint8Array();
  if (junctions.length !== 1) return undefined;
  const j = junctions[0]!;
  const pallet = junctionValue(j, 'palletInstance');
  if (typeof pallet === 'number') return concatBytes(utf8('Pallet'), compactToU8a(pallet));
  const id32 = junctionValue(j, 'accountId32');
  if (isJsonObject(id32) && typeof id32.id === 'string')
    return concatBytes(utf8('AccountId32'), fromHex(id32.id, 'accountId32', 32));
  const key20 = junctionValue(j, 'accountKey20');
  if (isJsonObject(key20) && typeof key20.key === 'string')
    return concatBytes(utf8('AccountKey20'), fromHex(key20.key, 'accountKey20', 20));
  return undefined;
}

function split(location: JsonValue): { parents: number; junctions: JsonValue[] } {
  const parents = isJsonObject(location) ? Number(location.parents) : Number.NaN;
  return { parents, junctions: Number.isInteger(parents) ? junctionsOf(location) : [] };
}

function junctionValue(j: JsonValue, name: string): JsonValue | undefined {
  if (!isJsonObject(j)) return undefined;
  const key = Object.keys(j).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : j[key];
}

function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** An AccountId32 from a shorter encoding, padded with zeros (TrailingZeroInput). */
function padded(bytes: Uint8Array): Hex {
  const out = new Uint8Array(32);
  out.set(bytes.subarray(0, 32));
  return toHex(out);
}
