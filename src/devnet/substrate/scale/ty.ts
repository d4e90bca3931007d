/**
 * A small declarative language for runtime types, the source of both the portable type registry in
 * the metadata (scale-info shapes with the Rust paths polkadot-js relies on) and the plain JS values
 * pallets work with. `Ty<T>` carries the JS type of its values as a phantom parameter.
 *
 * JS values: u8..u32, i8..i32 and char → number; u64 and wider → bigint; bool; str → string;
 * Vec<u8> and [u8; N] → Uint8Array; other sequences → arrays; () → null; tuples → arrays;
 * a composite with named fields → an object with camelCase keys; a newtype (one unnamed field) →
 * its inner value; Option<T> → T | null; any other enum → `{ tag, value? }`.
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

export type FieldDef = {
  name?: string | undefined;
  type: AnyTy;
  typeName?: string | undefined;
  docs?: string[];
};
export type VariantDef = { name: string; index: number; fields: FieldDef[]; docs: string[] };
export type ParamDef = { name: string; type?: AnyTy | undefined };

export type TypeDef =
  | { kind: 'primitive'; primitive: Primitive }
  | { kind: 'compact'; inner: AnyTy }
  | { kind: 'sequence'; inner: AnyTy }
  | { kind: 'array'; len: number; inner: AnyTy }
  | { kind: 'tuple'; items: AnyTy[] }
  | { kind: 'composite'; path: string[]; params: ParamDef[]; fields: FieldDef[]; docs: string[] }
  | { kind: 'variant'; path: string[]; params: ParamDef[]; variants: VariantDef[]; docs: string[] }
  | { kind: 'lazy'; resolve: () => AnyTy; label: string }
  | { kind: 'foreign'; source: ForeignTypeSource; id: number };

/**
 * A type taken as-is from another portable registry (for example the XCM types of a real
 * runtime's metadata): the builder copies it and everything it refers to.
 */
export type ForeignTypeSource = {
  /** Stable name of the source, used to deduplicate copies. */
  readonly name: string;
  /** The scale-info JSON of the source registry: `lookup.types` as polkadot-js `toJSON()` gives it. */
  readonly types: readonly ForeignPortableType[];
};
export type ForeignPortableType = { id: number; type: ForeignSiType };
export type ForeignSiType = {
  path: string[];
  params: { name: string; type: number | null }[];
  def: Record<string, unknown>;
  docs: string[];
};

export interface Ty<T> {
  readonly def: TypeDef;
  /** Phantom: the JS type of values of this type. */
  readonly __value?: T;
}
// biome-ignore lint/suspicious/noExplicitAny: the erased type of a Ty of any value
export type AnyTy = Ty<any>;
export type Infer<X> = X extends Ty<infer T> ? T : never;

export type EnumValue<Tag extends string = string, V = unknown> = { tag: Tag; value?: V };

type VariantSpec = {
  index?: number;
  docs?: string[];
  /** A single unnamed field, a tuple of unnamed fields, or named fields. */
  fields?: AnyTy | readonly AnyTy[] | Record<string, AnyTy>;
};
type VariantPayload<S> = S extends { fields: infer F }
  ? F extends Ty<infer T>
    ? T
    : F extends readonly AnyTy[]
      ? { -readonly [K in keyof F]: Infer<F[K]> }
      : F extends Record<string, AnyTy>
        ? { [K in keyof F]: Infer<F[K]> }
        : never
  : undefined;
export type EnumOf<V extends Record<string, VariantSpec>> = {
  [K in keyof V & string]: VariantPayload<V[K]> extends undefined
    ? { tag: K }
    : { tag: K; value: VariantPayload<V[K]> };
}[keyof V & string];

type StructOf<F extends Record<string, AnyTy>> = { [K in keyof F]: Infer<F[K]> };

function make<T>(def: TypeDef): Ty<T> {
  return { def };
}

// Anonymous types (Vec<T>, Option<T>, tuples...) are interned by their parts, so declaring
// `t.option(t.u32)` in two pallets gives one type in the registry, as rustc's scale-info does.
const interned = new Map<string, AnyTy>();
const tyIds = new WeakMap<AnyTy, number>();
let nextTyId = 0;
function idOfTy(ty: AnyTy): number {
  let id = tyIds.get(ty);
  if (id === undefined) {
    id = nextTyId++;
    tyIds.set(ty, id);
  }
  return id;
}
function memo<T>(kind: string, parts: readonly AnyTy[], create: () => Ty<T>): Ty<T> {
  const key = `${kind}(${parts.map(idOfTy).join(',')})`;
  let ty = interned.get(key);
  if (!ty) {
    ty = create();
    interned.set(key, ty);
  }
  return ty as Ty<T>;
}

function splitPath(path: string | string[]): string[] {
  return Array.isArray(path) ? path : path.split('::');
}

/** camelCase → snake_case, the names FRAME gives fields and calls (polkadot-js maps them back). */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function isTy(value: unknown): value is AnyTy {
  return typeof value === 'object' && value !== null && 'def' in value;
}

function fieldsOf(spec: VariantSpec['fields']): FieldDef[] {
  if (spec === undefined) return [];
  if (isTy(spec)) return [{ type: spec }];
  if (Array.isArray(spec)) return (spec as readonly AnyTy[]).map((type) => ({ type }));
  return Object.entries(spec as Record<string, AnyTy>).map(([name, type]) => ({
    name: snakeCase(name),
    type,
  }));
}

type Options = { params?: ParamDef[]; docs?: string[]; typeNames?: Record<string, string> };

const u8 = make<number>({ kind: 'primitive', primitive: 'u8' });

export const t = {
  bool: make<boolean>({ kind: 'primitive', primitive: 'bool' }),
  str: make<string>({ kind: 'primitive', primitive: 'str' }),
  u8,
  u16: make<number>({ kind: 'primitive', primitive: 'u16' }),
  u32: make<number>({ kind: 'primitive', primitive: 'u32' }),
  u64: make<bigint>({ kind: 'primitive', primitive: 'u64' }),
  u128: make<bigint>({ kind: 'primitive', primitive: 'u128' }),
  i32: make<number>({ kind: 'primitive', primitive: 'i32' }),
  i64: make<bigint>({ kind: 'primitive', primitive: 'i64' }),
  unit: make<null>({ kind: 'tuple', items: [] }),

  compact<T extends number | bigint>(inner: Ty<T>): Ty<T> {
    return memo('compact', [inner], () => make({ kind: 'compact', inner }));
  },
  /** Vec<T>; use `t.bytes` for Vec<u8> (whose values are Uint8Array). */
  vec<T>(inner: Ty<T>): Ty<T[]> {
    return memo(`vec`, [inner], () => make({ kind: 'sequence', inner }));
  },
  /** Vec<u8>. */
  bytes: memo<Uint8Array>('vec', [u8], () => make({ kind: 'sequence', inner: u8 })),
  /** [u8; N]. */
  fixedBytes(len: number): Ty<Uint8Array> {
    return memo(`array${len}`, [u8], () => make({ kind: 'array', len, inner: u8 }));
  },
  array<T>(len: number, inner: Ty<T>): Ty<T[]> {
    return memo(`array${len}`, [inner], () => make({ kind: 'array', len, inner }));
  },
  tuple<const Items extends readonly AnyTy[]>(
    ...items: Items
  ): Ty<{ -readonly [K in keyof Items]: Infer<Items[K]> }> {
    return memo('tuple', items, () => make({ kind: 'tuple', items: [...items] }));
  },
  /** A composite with named fields (keys in camelCase here, snake_case in the metadata). */
  struct<F extends Record<string, AnyTy>>(
    path: string | string[],
    fields: F,
    options: Options = {},
  ): Ty<StructOf<F>> {
    return make({
      kind: 'composite',
      path: splitPath(path),
      params: options.params ?? [],
      docs: options.docs ?? [],
      fields: Object.entries(fields).map(([name, type]) => ({
        name: snakeCase(name),
        type,
        typeName: options.typeNames?.[name],
      })),
    });
  },
  /** A composite with one unnamed field, e.g. `AccountId32([u8; 32])`; its value is the inner value. */
  newtype<T>(path: string | string[], inner: Ty<T>, typeName?: string, options: Options = {}): Ty<T> {
    return make({
      kind: 'composite',
      path: splitPath(path),
      params: options.params ?? [],
      docs: options.docs ?? [],
      fields: [{ type: inner, typeName }],
    });
  },
  /** A composite with no fields (a marker such as a signed extension). */
  marker(path: string | string[], options: Options = {}): Ty<null> {
    return make({
      kind: 'composite',
      path: splitPath(path),
      params: options.params ?? [],
      docs: options.docs ?? [],
      fields: [],
    });
  },
  enum<const V extends Record<string, VariantSpec>>(
    path: string | string[],
    variants: V,
    options: Options = {},
  ): Ty<EnumOf<V>> {
    let next = 0;
    const defs: VariantDef[] = Object.entries(variants).map(([name, spec]) => {
      const index = spec.index ?? next;
      next = index + 1;
      return { name, index, fields: fieldsOf(spec.fields), docs: spec.docs ?? [] };
    });
    return make({
      kind: 'variant',
      path: splitPath(path),
      params: options.params ?? [],
      docs: options.docs ?? [],
      variants: defs,
    });
  },
  option<T>(inner: Ty<T>): Ty<T | null> {
    return memo('option', [inner], () =>
      make({
        kind: 'variant',
        path: ['Option'],
        params: [{ name: 'T', type: inner }],
        docs: [],
        variants: [
          { name: 'None', index: 0, fields: [], docs: [] },
          { name: 'Some', index: 1, fields: [{ type: inner }], docs: [] },
        ],
      }),
    );
  },
  result<O, E>(ok: Ty<O>, err: Ty<E>): Ty<{ tag: 'Ok'; value: O } | { tag: 'Err'; value: E }> {
    return memo('result', [ok, err], () =>
      make({
        kind: 'variant',
        path: ['Result'],
        params: [
          { name: 'T', type: ok },
          { name: 'E', type: err },
        ],
        docs: [],
        variants: [
          { name: 'Ok', index: 0, fields: [{ type: ok }], docs: [] },
          { name: 'Err', index: 1, fields: [{ type: err }], docs: [] },
        ],
      }),
    );
  },
  /** A late-bound type, for recursion (RuntimeCall inside sudo) and types composed after a pallet. */
  lazy<T>(label: string, resolve: () => Ty<T>): Ty<T> {
    return make({ kind: 'lazy', resolve, label });
  },
  /** A type copied from another registry by id; its values are whatever polkadot-js JSON gives. */
  foreign(source: ForeignTypeSource, id: number): Ty<unknown> {
    return make({ kind: 'foreign', source, id });
  },
};

/** Follows lazy references to the concrete definition. */
export function resolveTy(ty: AnyTy): AnyTy {
  let current = ty;
  for (let depth = 0; current.def.kind === 'lazy'; depth++) {
    if (depth > 64) throw new Error(`type ${current.def.label} does not resolve`);
    current = current.def.resolve();
  }
  return current;
}
