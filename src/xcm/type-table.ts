import type { PortableRegistry } from '@polkadot/types';
import type { Si1TypeDef } from '@polkadot/types/interfaces';
import { stringCamelCase } from '@polkadot/util';

/**
 * A flat, read-only view of a runtime's portable type registry (scale-info), resolved once per
 * type id. The SCALE pre-scan, the strict JSON reader and the version converter all walk it, so
 * they agree on one model of each type, in the JSON shape @polkadot/types uses for it.
 */
export type Primitive =
  | 'bool'
  | 'char'
  | 'str'
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'u128'
  | 'u256'
  | 'i8'
  | 'i16'
  | 'i32'
  | 'i64'
  | 'i128'
  | 'i256';

export type Field = { name: string | null; camel: string | null; type: number };
export type Variant = { name: string; camel: string; index: number; fields: Field[] };

/** What a type means for XCM limits (found from its path). */
export type XcmRole = 'xcm' | 'assets' | 'fungibility' | undefined;

type NodeBase = { id: number; path: string[]; key: string; version: number | undefined; role: XcmRole };
export type TypeNode =
  | (NodeBase & { kind: 'primitive'; prim: Primitive })
  | (NodeBase & { kind: 'compact'; inner: number; prim: Primitive })
  | (NodeBase & { kind: 'composite'; fields: Field[] })
  | (NodeBase & {
      kind: 'variant';
      variants: Variant[];
      byIndex: Map<number, Variant>;
      byName: Map<string, Variant>;
      /** All variants carry no data: @polkadot/types shows the value as the variant name. */
      basic: boolean;
      option: boolean;
    })
  | (NodeBase & { kind: 'sequence'; elem: number })
  | (NodeBase & { kind: 'array'; len: number; elem: number })
  | (NodeBase & { kind: 'tuple'; elems: number[] })
  | (NodeBase & { kind: 'unsupported'; what: string });

export class TypeTable {
  readonly #lookup: PortableRegistry;
  readonly #nodes = new Map<number, TypeNode>();
  readonly #minSize = new Map<number, number>();

  constructor(lookup: PortableRegistry) {
    this.#lookup = lookup;
  }

  get(id: number): TypeNode {
    let node = this.#nodes.get(id);
    if (!node) {
      node = this.#build(id);
      this.#nodes.set(id, node);
    }
    return node;
  }

  /** A lower bound on the encoded size of a value of this type (to bound sequence lengths). */
  minSize(id: number, seen: Set<number> = new Set()): number {
    const cached = this.#minSize.get(id);
    if (cached !== undefined) return cached;
    if (seen.has(id)) return 1; // recursive types: at least a tag or length byte
    seen.add(id);
    const node = this.get(id);
    let size: number;
    switch (node.kind) {
      case 'primitive':
        size = FIXED_WIDTH[node.prim] ?? 1; // a `str` is at least its length byte
        break;
      case 'compact':
      case 'sequence':
        size = 1;
        break;
      case 'composite':
        size = node.fields.reduce((sum, f) => sum + this.minSize(f.type, seen), 0);
        break;
      case 'tuple':
        size = node.elems.reduce((sum, t) => sum + this.minSize(t, seen), 0);
        break;
      case 'array':
        size = node.len * this.minSize(node.elem, seen);
        break;
      case 'variant':
        size =
          1 +
          Math.min(
            ...node.variants.map((v) => v.fields.reduce((sum, f) => sum + this.minSize(f.type, seen), 0)),
            Number.MAX_SAFE_INTEGER,
          );
        break;
      default:
        size = 0;
    }
    seen.delete(id);
    this.#minSize.set(id, size);
    return size;
  }

  #build(id: number): TypeNode {
    const si = this.#lookup.getSiType(id);
    const path = si.path.map((p) => p.toString());
    const version = versionOf(path);
    const last = path[path.length - 1] ?? '';
    const base: NodeBase = {
      id,
      path,
      key: version === undefined ? last || `#${id}` : `${last}@v${version}`,
      version,
      role: roleOf(path, last, version),
    };
    const node = this.#fromDef(base, si.def);
    if (!last) node.key = this.#anonymousKey(node);
    const some = node.kind === 'variant' && node.option ? node.variants[1]?.fields[0]?.type : undefined;
    if (some !== undefined && some !== id) node.key = `Option<${this.get(some).key}>`;
    return node;
  }

  /** A readable name for types without a path (Vec<..>, [u8; 32], tuples, primitives). */
  #anonymousKey(node: TypeNode): string {
    switch (node.kind) {
      case 'primitive':
        return node.prim;
      case 'compact':
        return `Compact<${node.prim}>`;
      case 'sequence':
        return `Vec<${this.get(node.elem).key}>`;
      case 'array':
        return `[${this.get(node.elem).key}; ${node.len}]`;
      case 'tuple':
        return `(${node.elems.map((e) => this.get(e).key).join(', ')})`;
      default:
        return node.key;
    }
  }

  #fromDef(base: NodeBase, def: Si1TypeDef): TypeNode {
    if (def.isPrimitive) {
      return { ...base, kind: 'primitive', prim: def.asPrimitive.type.toLowerCase() as Primitive };
    }
    if (def.isCompact) {
      const inner = def.asCompact.type.toNumber();
      const prim = this.#compactPrimitive(inner);
      if (!prim) return { ...base, kind: 'unsupported', what: 'compact of a non-integer' };
      return { ...base, kind: 'compact', inner, prim };
    }
    if (def.isComposite) {
      return { ...base, kind: 'composite', fields: def.asComposite.fields.map(toField) };
    }
    if (def.isVariant) {
      const variants: Variant[] = def.asVariant.variants.map((v) => ({
        name: v.name.toString(),
        camel: stringCamelCase(v.name.toString()),
        index: v.index.toNumber(),
        fields: v.fields.map(toField),
      }));
      variants.sort((a, b) => a.index - b.index);
      return {
        ...base,
        kind: 'variant',
        variants,
        byIndex: new Map(variants.map((v) => [v.index, v])),
        byName: new Map(variants.map((v) => [v.name.toLowerCase(), v])),
        basic: variants.every((v) => v.fields.length === 0),
        option: base.path.length === 1 && base.path[0] === 'Option',
      };
    }
    if (def.isSequence) return { ...base, kind: 'sequence', elem: def.asSequence.type.toNumber() };
    if (def.isArray) {
      return { ...base, kind: 'array', len: def.asArray.len.toNumber(), elem: def.asArray.type.toNumber() };
    }
    if (def.isTuple) return { ...base, kind: 'tuple', elems: def.asTuple.map((t) => t.toNumber()) };
    return { ...base, kind: 'unsupported', what: def.type };
  }

  /** Compact<T> is only defined for integers (possibly wrapped in a one-field struct). */
  #compactPrimitive(id: number): Primitive | undefined {
    const node = this.get(id);
    if (node.kind === 'primitive' && /^u(8|16|32|64|128|256)$/.test(node.prim)) return node.prim;
    if (node.kind === 'composite' && node.fields.length === 1)
      return this.#compactPrimitive(node.fields[0]!.type);
    return undefined;
  }
}

/** Encoded bytes of each fixed-width primitive (`str` has none: it is length-prefixed). */
export const FIXED_WIDTH: Partial<Record<Primitive, number>> = {
  bool: 1,
  char: 4,
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  u128: 16,
  u256: 32,
  i8: 1,
  i16: 2,
  i32: 4,
  i64: 8,
  i128: 16,
  i256: 32,
};

function toField(f: {
  name: { isSome: boolean; unwrap(): { toString(): string } };
  type: { toNumber(): number };
}): Field {
  const name = f.name.isSome ? f.name.unwrap().toString() : null;
  return { name, camel: name === null ? null : stringCamelCase(name), type: f.type.toNumber() };
}

function versionOf(path: string[]): number | undefined {
  if (!path[0] || !/xcm/.test(path[0])) return undefined;
  for (const seg of path) {
    const m = /^v(\d)$/.exec(seg);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function roleOf(path: string[], last: string, version: number | undefined): XcmRole {
  if (version === undefined) return undefined;
  if (last === 'Xcm') return 'xcm';
  if (last === 'MultiAssets' || last === 'Assets') return 'assets';
  if (last === 'Fungibility' && version >= 3) return 'fungibility';
  void path;
  return undefined;
}
