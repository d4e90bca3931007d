import { compareEncoded } from './asset-order.js';
import { XcmDecodeError, type XcmDecodeReason } from './errors.js';
import {
  BOUNDED_FIELDS,
  type DecodeLimits,
  MAX_SEQUENCE_LENGTH,
  MAX_TYPE_DEPTH,
  type XcmLimit,
} from './limits.js';
import { FIXED_WIDTH, type Primitive, type TypeNode, type TypeTable } from './type-table.js';

/**
 * A strict SCALE reader that walks bytes against the runtime's type table without building any
 * value. It runs before @polkadot/types ever sees the bytes, because that library decodes
 * leniently (non-canonical compacts, any non-zero byte as `true`, trailing bytes ignored) and
 * would recurse or allocate as far as hostile lengths ask. Written here because no library
 * offers a bounded, allocation-free validator over scale-info types.
 *
 * Rules are those of parity-scale-codec plus the XCM crate's own decode checks: canonical
 * compacts in range, bool is 0 or 1, known variant indexes, at most `maxXcmDepth` nested XCM
 * programs and `maxInstructions` instructions in all, at most `maxAssets` per asset list, asset
 * lists sorted and deduplicated, BoundedVec fields within their bounds, no zero fungible
 * amounts (V3+). Each limit error names the limit (`XcmDecodeError.limit`).
 */
export function scanScale(
  table: TypeTable,
  typeId: number,
  bytes: Uint8Array,
  limits: DecodeLimits,
  start = 0,
): number {
  const scanner = new Scanner(table, bytes, limits, start);
  scanner.value(typeId, 0);
  return scanner.pos;
}

const MAX_BY_PRIMITIVE: Partial<Record<Primitive, bigint>> = {
  u8: 0xffn,
  u16: 0xffffn,
  u32: 0xffff_ffffn,
  u64: 0xffff_ffff_ffff_ffffn,
  u128: (1n << 128n) - 1n,
  u256: (1n << 256n) - 1n,
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Scanner {
  pos: number;
  #xcmDepth = 0;
  #instructions = 0;

  constructor(
    readonly table: TypeTable,
    readonly bytes: Uint8Array,
    readonly limits: DecodeLimits,
    start: number,
  ) {
    this.pos = start;
  }

  fail(reason: XcmDecodeReason, message: string, offset = this.pos, limit?: XcmLimit): never {
    throw new XcmDecodeError(reason, message, { offset, limit });
  }

  need(n: number, node: TypeNode): void {
    if (this.pos + n > this.bytes.length) {
      this.fail('truncated', `${node.key} needs ${n} more byte(s), ${this.bytes.length - this.pos} left`);
    }
  }

  value(id: number, depth: number, bound?: { name: string; max: number }): void {
    if (depth > MAX_TYPE_DEPTH) {
      this.fail('too-deep', `types nested deeper than ${MAX_TYPE_DEPTH}`, this.pos, {
        name: 'MAX_TYPE_DEPTH',
        max: MAX_TYPE_DEPTH,
        actual: depth,
      });
    }
    const node = this.table.get(id);
    switch (node.kind) {
      case 'primitive':
        this.primitive(node, node.prim);
        break;
      case 'compact':
        this.compact(node, node.prim);
        break;
      case 'composite':
        if (node.role === 'xcm') this.xcm(node, depth);
        else if (node.role === 'assets') this.assets(node, depth);
        else if (bound) this.bounded(node, depth, bound);
        else for (const f of node.fields) this.value(f.type, depth + 1, this.boundOf(node, null, f));
        break;
      case 'variant':
        this.variant(node, depth);
        break;
      case 'sequence':
        this.elements(node, node.elem, this.length(node, node.elem), depth);
        break;
      case 'array':
        this.elements(node, node.elem, node.len, depth);
        break;
      case 'tuple':
        for (const t of node.elems) this.value(t, depth + 1);
        break;
      default:
        this.fail('unsupported-type', `${node.key} (${node.what}) is not supported`);
    }
  }

  primitive(node: TypeNode, prim: Primitive): void {
    if (prim === 'bool') {
      this.need(1, node);
      const b = this.bytes[this.pos]!;
      if (b > 1) this.fail('invalid-bool', `bool must be 0 or 1, got ${b}`);
      this.pos += 1;
      return;
    }
    if (prim === 'str') {
      const len = this.length(node, undefined);
      this.need(len, node);
      try {
        utf8.decode(this.bytes.subarray(this.pos, this.pos + len));
      } catch {
        this.fail('invalid-utf8', `${node.key} is not UTF-8`);
      }
      this.pos += len;
      return;
    }
    if (prim === 'char') {
      this.need(4, node);
      const c = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getUint32(0, true);
      if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) this.fail('invalid-utf8', `char 0x${c.toString(16)}`);
      this.pos += 4;
      return;
    }
    const size = FIXED_WIDTH[prim];
    if (size === undefined) this.fail('unsupported-type', `primitive ${prim}`);
    this.need(size, node);
    this.pos += size;
  }

  /** Reads a canonical Compact<prim> and returns it (bigint only past 2^30). */
  compact(node: TypeNode, prim: Primitive): number | bigint {
    this.need(1, node);
    const at = this.pos;
    const b0 = this.bytes[at]!;
    const mode = b0 & 3;
    let value: number | bigint;
    if (mode === 0) {
      value = b0 >> 2;
      this.pos += 1;
    } else if (mode === 1) {
      this.need(2, node);
      value = (b0 | (this.bytes[at + 1]! << 8)) >> 2;
      if (value < 1 << 6)
        this.fail('non-canonical-compact', `${node.key}: ${value} fits a shorter compact`, at);
      this.pos += 2;
    } else if (mode === 2) {
      this.need(4, node);
      value = (b0 | (this.bytes[at + 1]! << 8) | (this.bytes[at + 2]! << 16)) + this.bytes[at + 3]! * 2 ** 24;
      value = Math.floor(value / 4);
      if (value < 1 << 14)
        this.fail('non-canonical-compact', `${node.key}: ${value} fits a shorter compact`, at);
      this.pos += 4;
    } else {
      const n = (b0 >> 2) + 4;
      const width = FIXED_WIDTH[prim] ?? 0;
      if (n > Math.max(width, 4) || width < 4) {
        this.fail('compact-overflow', `${node.key}: ${n}-byte compact for ${prim}`, at);
      }
      this.need(1 + n, node);
      let big = 0n;
      for (let i = n; i >= 1; i--) big = (big << 8n) | BigInt(this.bytes[at + i]!);
      if (this.bytes[at + n] === 0 || big < 1n << 30n) {
        this.fail('non-canonical-compact', `${node.key}: ${big} fits a shorter compact`, at);
      }
      value = big;
      this.pos += 1 + n;
    }
    const max = MAX_BY_PRIMITIVE[prim];
    if (max !== undefined && BigInt(value) > max)
      this.fail('compact-overflow', `${node.key}: ${value} > ${prim}`, at);
    return value;
  }

  /**
   * A compact length prefix. Elements that take at least a byte each (bytes, strings) are bounded
   * by what is left to read, so by the message cap as on chain; only elements that may encode to
   * nothing have a count limit of their own.
   */
  length(node: TypeNode, elem: number | undefined): number {
    const at = this.pos;
    const len = this.compact(node, 'u32');
    const left = this.bytes.length - this.pos;
    const empty = elem !== undefined && this.table.minSize(elem) === 0;
    if (empty && Number(len) > MAX_SEQUENCE_LENGTH) {
      this.fail('too-long', `${node.key}: ${len} elements`, at, {
        name: 'MAX_SEQUENCE_LENGTH',
        max: MAX_SEQUENCE_LENGTH,
        actual: Number(len),
      });
    }
    if (typeof len !== 'number' || (!empty && len > left)) {
      this.fail(
        'too-long',
        `${node.key}: length ${len} is more than the ${left} bytes left in the input`,
        at,
      );
    }
    return len;
  }

  elements(node: TypeNode, elem: number, count: number, depth: number, starts?: number[]): void {
    const elemNode = this.table.get(elem);
    if (elemNode.kind === 'primitive' && elemNode.prim === 'u8') {
      this.need(count, node);
      this.pos += count;
      return;
    }
    const min = this.table.minSize(elem);
    if (min > 0 && count * min > this.bytes.length - this.pos) {
      this.fail(
        'truncated',
        `${node.key}: ${count} element(s) cannot fit in ${this.bytes.length - this.pos} bytes`,
      );
    }
    for (let i = 0; i < count; i++) {
      starts?.push(this.pos);
      this.value(elem, depth + 1);
    }
  }

  /** The bound of a BoundedVec field (see BOUNDED_FIELDS), if the field is one. */
  boundOf(
    node: TypeNode,
    variant: string | null,
    field: { name: string | null; type: number },
  ): { name: string; max: number } | undefined {
    if (this.table.get(field.type).path.at(-1) !== 'BoundedVec') return undefined;
    const key = [node.path.at(-1), variant, field.name].filter((p) => p !== null).join('.');
    return BOUNDED_FIELDS.get(key);
  }

  /** A `BoundedVec<T, S>`: more than S elements is refused, as the chain's decoder does. */
  bounded(
    node: Extract<TypeNode, { kind: 'composite' }>,
    depth: number,
    bound: { name: string; max: number },
  ): void {
    const seq = this.single(node);
    if (!seq) {
      for (const f of node.fields) this.value(f.type, depth + 1);
      return;
    }
    const count = this.lengthAtMost(
      seq,
      bound,
      'bound-exceeded',
      (n) => `${node.key} of ${n} elements, at most ${bound.max}`,
    );
    this.elements(seq, seq.elem, count, depth + 1);
  }

  /** A sequence's length, refused with `reason` (naming the limit) past `limit.max` elements. */
  lengthAtMost(
    seq: Extract<TypeNode, { kind: 'sequence' }>,
    limit: { name: string; max: number },
    reason: XcmDecodeReason,
    message: (count: number) => string,
  ): number {
    const at = this.pos;
    const count = this.length(seq, seq.elem);
    if (count > limit.max) this.fail(reason, message(count), at, { ...limit, actual: count });
    return count;
  }

  variant(node: Extract<TypeNode, { kind: 'variant' }>, depth: number): void {
    this.need(1, node);
    const at = this.pos;
    const index = this.bytes[at]!;
    const v = node.byIndex.get(index);
    if (!v) {
      const reason = node.option ? 'invalid-option' : 'invalid-variant';
      this.fail(reason, `${node.key} has no variant with index ${index}`, at);
    }
    this.pos += 1;
    if (node.option && v.fields.length === 1) {
      const inner = this.table.get(v.fields[0]!.type);
      // @polkadot/types reads Option<bool> as the one-byte OptionBool, unlike Rust; refuse it.
      if (inner.kind === 'primitive' && inner.prim === 'bool') this.fail('unsupported-type', 'Option<bool>');
    }
    if (node.role === 'fungibility' && v.name === 'Fungible' && v.fields.length === 1) {
      const amountNode = this.table.get(v.fields[0]!.type);
      if (amountNode.kind === 'compact') {
        const amount = this.compact(amountNode, amountNode.prim);
        if (amount === 0)
          this.fail('zero-fungible', 'a fungible asset of zero amount is not allowed', at + 1);
        return;
      }
    }
    for (const f of v.fields) this.value(f.type, depth + 1, this.boundOf(node, v.name, f));
  }

  /** `Xcm(Vec<Instruction>)`: nesting depth and instruction count across the whole message. */
  xcm(node: Extract<TypeNode, { kind: 'composite' }>, depth: number): void {
    const seq = this.single(node);
    if (!seq) {
      for (const f of node.fields) this.value(f.type, depth + 1);
      return;
    }
    this.#xcmDepth += 1;
    if (this.#xcmDepth > this.limits.maxXcmDepth) {
      this.fail('too-deep', `XCM programs nested deeper than ${this.limits.maxXcmDepth}`, this.pos, {
        name: 'MAX_XCM_DECODE_DEPTH',
        max: this.limits.maxXcmDepth,
        actual: this.#xcmDepth,
      });
    }
    const at = this.pos;
    const count = this.length(seq, seq.elem);
    this.#instructions += count;
    if (this.#instructions > this.limits.maxInstructions) {
      this.fail('too-many-instructions', `more than ${this.limits.maxInstructions} instructions`, at, {
        name: 'MAX_INSTRUCTIONS_TO_DECODE',
        max: this.limits.maxInstructions,
        actual: this.#instructions,
      });
    }
    this.elements(seq, seq.elem, count, depth + 1);
    this.#xcmDepth -= 1;
  }

  assets(node: Extract<TypeNode, { kind: 'composite' }>, depth: number): void {
    const seq = this.single(node);
    if (!seq) {
      for (const f of node.fields) this.value(f.type, depth + 1);
      return;
    }
    const max = this.limits.maxAssets;
    const count = this.lengthAtMost(
      seq,
      { name: 'MAX_ITEMS_IN_ASSETS', max },
      'too-many-assets',
      (n) => `${n} assets, at most ${max}`,
    );
    const starts: number[] = [];
    this.elements(seq, seq.elem, count, depth + 1, starts);
    this.ordered(seq.elem, starts);
  }

  /**
   * polkadot-sdk decodes an asset list through `Assets::from_sorted_and_deduplicated` and refuses
   * it ("Out of order") unless each asset's id is greater than the one before, or, for one id,
   * the asset is greater and one of the two is non-fungible (fungible assets of one id must be
   * one entry; a non-fungible instance may not repeat).
   */
  ordered(assetType: number, starts: number[]): void {
    if (starts.length < 2) return;
    const asset = this.table.get(assetType);
    if (asset.kind !== 'composite') return;
    const id = asset.fields.find((f) => f.name === 'id');
    const fun = asset.fields.find((f) => f.name === 'fun');
    if (!id || !fun) return;
    const funNode = this.table.get(fun.type);
    const nonFungible = (at: number) =>
      funNode.kind === 'variant' && funNode.byIndex.get(this.bytes[at]!)?.name === 'NonFungible';
    for (let i = 1; i < starts.length; i++) {
      const a = starts[i - 1]!;
      const b = starts[i]!;
      const ids = compareEncoded(this.table, id.type, this.bytes, a, b);
      if (ids.cmp < 0) continue;
      let why = `asset ${i} sorts before asset ${i - 1}`;
      if (ids.cmp === 0) {
        const funs = compareEncoded(this.table, fun.type, this.bytes, a + ids.len, b + ids.len);
        const eitherNonFungible = nonFungible(a + ids.len) || nonFungible(b + ids.len);
        if (funs.cmp < 0 && eitherNonFungible) continue;
        why =
          funs.cmp === 0
            ? `asset ${i} repeats asset ${i - 1}`
            : eitherNonFungible
              ? `asset ${i} sorts before asset ${i - 1} (same id)`
              : `assets ${i - 1} and ${i} are fungible with the same id (one entry is allowed)`;
      }
      this.fail(
        'assets-out-of-order',
        `${asset.key} list out of order or duplicated: ${why}; a chain refuses it at decode ("Out of order")`,
        b,
      );
    }
  }

  single(
    node: Extract<TypeNode, { kind: 'composite' }>,
  ): Extract<TypeNode, { kind: 'sequence' }> | undefined {
    if (node.fields.length !== 1) return undefined;
    const inner = this.table.get(node.fields[0]!.type);
    return inner.kind === 'sequence' ? inner : undefined;
  }
}
