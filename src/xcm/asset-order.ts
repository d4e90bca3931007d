import { FIXED_WIDTH, type Primitive, type TypeNode, type TypeTable } from './type-table.js';

/**
 * The order polkadot-sdk derives for XCM values (`#[derive(PartialOrd, Ord)]`), computed on two
 * encodings of the same type that the strict scan already accepted: fields in declaration
 * order, enum variants by index, integers and compacts by value, sequences element by element
 * and then by length. Equal values of a type have identical canonical encodings, so once a field
 * compares equal both sides step over the same number of bytes. Written here because the order
 * is the Rust one over typed values, which no JS library computes from scale-info types.
 */

/** `cmp` < 0, 0, > 0 as a is less, equal, greater; `len` is the encoded length when equal. */
type Comparison = { cmp: number; len: number };

export function compareEncoded(
  table: TypeTable,
  typeId: number,
  bytes: Uint8Array,
  a: number,
  b: number,
): Comparison {
  return new Comparer(table, bytes).value(typeId, a, b);
}

class Comparer {
  constructor(
    readonly table: TypeTable,
    readonly bytes: Uint8Array,
  ) {}

  value(id: number, a: number, b: number): Comparison {
    const node = this.table.get(id);
    switch (node.kind) {
      case 'primitive':
        return this.primitive(node.prim, a, b);
      case 'compact': {
        const x = this.compact(a);
        const y = this.compact(b);
        return { cmp: sign(x.value - y.value), len: x.len };
      }
      case 'composite':
        return this.fields(
          node.fields.map((f) => f.type),
          a,
          b,
        );
      case 'tuple':
        return this.fields(node.elems, a, b);
      case 'variant': {
        const ia = this.bytes[a]!;
        const ib = this.bytes[b]!;
        if (ia !== ib) return { cmp: ia - ib, len: 0 };
        const variant = (node as Extract<TypeNode, { kind: 'variant' }>).byIndex.get(ia)!;
        const inner = this.fields(
          variant.fields.map((f) => f.type),
          a + 1,
          b + 1,
        );
        return { cmp: inner.cmp, len: inner.len + 1 };
      }
      case 'array':
        return this.elements(node.elem, node.len, node.len, a, b, 0);
      case 'sequence': {
        const la = this.compact(a);
        const lb = this.compact(b);
        return this.elements(node.elem, Number(la.value), Number(lb.value), a + la.len, b + lb.len, la.len);
      }
      default:
        return { cmp: 0, len: 0 };
    }
  }

  fields(types: readonly number[], a: number, b: number): Comparison {
    let len = 0;
    for (const t of types) {
      const c = this.value(t, a + len, b + len);
      if (c.cmp !== 0) return c;
      len += c.len;
    }
    return { cmp: 0, len };
  }

  /** Lexicographic, then the shorter first (Rust's slice order). */
  elements(elem: number, na: number, nb: number, a: number, b: number, prefix: number): Comparison {
    let len = 0;
    for (let i = 0; i < Math.min(na, nb); i++) {
      const c = this.value(elem, a + len, b + len);
      if (c.cmp !== 0) return c;
      len += c.len;
    }
    return { cmp: na - nb, len: prefix + len };
  }

  primitive(prim: Primitive, a: number, b: number): Comparison {
    if (prim === 'str') {
      const la = this.compact(a);
      const lb = this.compact(b);
      const na = Number(la.value);
      const nb = Number(lb.value);
      for (let i = 0; i < Math.min(na, nb); i++) {
        const d = this.bytes[a + la.len + i]! - this.bytes[b + lb.len + i]!;
        if (d !== 0) return { cmp: d, len: 0 };
      }
      return { cmp: na - nb, len: la.len + na };
    }
    const size = FIXED_WIDTH[prim] ?? 1;
    const x = this.uint(a, size);
    const y = this.uint(b, size);
    if (prim.startsWith('i')) {
      const half = 1n << BigInt(size * 8 - 1);
      const sx = x >= half ? x - 2n * half : x;
      const sy = y >= half ? y - 2n * half : y;
      return { cmp: sign(sx - sy), len: size };
    }
    return { cmp: sign(x - y), len: size };
  }

  uint(at: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[at + i]!);
    return v;
  }

  /** A compact the scan already checked (canonical, in range). */
  compact(at: number): { value: bigint; len: number } {
    const b0 = this.bytes[at]!;
    const mode = b0 & 3;
    if (mode === 0) return { value: BigInt(b0 >> 2), len: 1 };
    if (mode === 1) return { value: this.uint(at, 2) >> 2n, len: 2 };
    if (mode === 2) return { value: this.uint(at, 4) >> 2n, len: 4 };
    const n = (b0 >> 2) + 4;
    return { value: this.uint(at + 1, n), len: 1 + n };
  }
}

function sign(d: bigint): number {
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
