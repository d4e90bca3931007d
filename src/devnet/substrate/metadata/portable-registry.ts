import { type AnyTy, type FieldDef, type ForeignTypeSource, type TypeDef, resolveTy } from '../scale/ty.js';

/**
 * Builds a scale-info portable registry (the `lookup` of metadata V14/V15) from `Ty` declarations.
 * No library builds one from TypeScript declarations (polkadot-js only reads them), so this is ours:
 * ids are handed out in order of first use; composites and variants are registered before their
 * fields so recursive types (RuntimeCall inside sudo) refer to themselves; anonymous types are
 * deduplicated by shape, as rustc's scale-info does.
 */

export type SiField = { name: string | null; type: number; typeName: string | null; docs: string[] };
export type SiVariant = { name: string; fields: SiField[]; index: number; docs: string[] };
export type SiTypeDef =
  | { composite: { fields: SiField[] } }
  | { variant: { variants: SiVariant[] } }
  | { sequence: { type: number } }
  | { array: { len: number; type: number } }
  | { tuple: number[] }
  | { primitive: string }
  | { compact: { type: number } }
  | { bitSequence: { bitStoreType: number; bitOrderType: number } };
export type SiType = {
  path: string[];
  params: { name: string; type: number | null }[];
  def: SiTypeDef;
  docs: string[];
};
export type PortableType = { id: number; type: SiType };

const PRIMITIVE_JSON: Record<string, string> = {
  bool: 'Bool',
  char: 'Char',
  str: 'Str',
  u8: 'U8',
  u16: 'U16',
  u32: 'U32',
  u64: 'U64',
  u128: 'U128',
  u256: 'U256',
  i8: 'I8',
  i16: 'I16',
  i32: 'I32',
  i64: 'I64',
  i128: 'I128',
  i256: 'I256',
};

export class PortableRegistryBuilder {
  readonly #types: (SiType | null)[] = [];
  readonly #byTy = new Map<AnyTy, number>();
  readonly #byShape = new Map<string, number>();
  readonly #foreign = new Map<string, number>();
  #frozen = false;

  /** After the metadata is built no type may be added: the node could not encode it. */
  freeze(): void {
    this.#frozen = true;
  }

  /** The id of a type, registering it (and everything it refers to) on first use. */
  idOf(input: AnyTy): number {
    const known = this.#byTy.get(input);
    if (known !== undefined) return known;
    const ty = resolveTy(input);
    const resolvedKnown = this.#byTy.get(ty);
    if (resolvedKnown !== undefined) {
      this.#byTy.set(input, resolvedKnown);
      return resolvedKnown;
    }
    if (this.#frozen) {
      const def = ty.def;
      const name = def.kind === 'composite' || def.kind === 'variant' ? def.path.join('::') : def.kind;
      throw new Error(
        `type ${name} is not in the runtime's metadata (declare it in a pallet or runtime API)`,
      );
    }
    const id = this.#build(ty.def, ty);
    this.#byTy.set(ty, id);
    this.#byTy.set(input, id);
    return id;
  }

  /** Every registered type, ids 0..n-1, in the shape `PortableRegistry` decodes. */
  types(): PortableType[] {
    return this.#types.map((type, id) => {
      if (!type) throw new Error(`type ${id} was reserved but never defined`);
      return { id, type };
    });
  }

  get(id: number): SiType {
    const type = this.#types[id];
    if (!type) throw new Error(`no type ${id}`);
    return type;
  }

  #reserve(): number {
    this.#types.push(null);
    return this.#types.length - 1;
  }

  #shaped(shape: string, type: SiType): number {
    const known = this.#byShape.get(shape);
    if (known !== undefined) return known;
    const id = this.#reserve();
    this.#types[id] = type;
    this.#byShape.set(shape, id);
    return id;
  }

  #fields(fields: FieldDef[]): SiField[] {
    return fields.map((f) => ({
      name: f.name ?? null,
      type: this.idOf(f.type),
      typeName: f.typeName ?? null,
      docs: f.docs ?? [],
    }));
  }

  #build(def: TypeDef, ty: AnyTy): number {
    switch (def.kind) {
      case 'primitive': {
        const primitive = PRIMITIVE_JSON[def.primitive]!;
        return this.#shaped(`p:${primitive}`, { path: [], params: [], def: { primitive }, docs: [] });
      }
      case 'compact': {
        const inner = this.idOf(def.inner);
        return this.#shaped(`c:${inner}`, {
          path: [],
          params: [],
          def: { compact: { type: inner } },
          docs: [],
        });
      }
      case 'sequence': {
        const inner = this.idOf(def.inner);
        return this.#shaped(`s:${inner}`, {
          path: [],
          params: [],
          def: { sequence: { type: inner } },
          docs: [],
        });
      }
      case 'array': {
        const inner = this.idOf(def.inner);
        return this.#shaped(`a:${def.len}:${inner}`, {
          path: [],
          params: [],
          def: { array: { len: def.len, type: inner } },
          docs: [],
        });
      }
      case 'tuple': {
        const items = def.items.map((item) => this.idOf(item));
        return this.#shaped(`t:${items.join(',')}`, {
          path: [],
          params: [],
          def: { tuple: items },
          docs: [],
        });
      }
      case 'composite':
      case 'variant': {
        // Reserve first: a field may refer back to this type through a lazy reference.
        const id = this.#reserve();
        this.#byTy.set(ty, id);
        const params = def.params.map((p) => ({ name: p.name, type: p.type ? this.idOf(p.type) : null }));
        const siDef: SiTypeDef =
          def.kind === 'composite'
            ? { composite: { fields: this.#fields(def.fields) } }
            : {
                variant: {
                  variants: [...def.variants]
                    .sort((a, b) => a.index - b.index)
                    .map((v) => ({
                      name: v.name,
                      index: v.index,
                      fields: this.#fields(v.fields),
                      docs: v.docs,
                    })),
                },
              };
        this.#types[id] = { path: def.path, params, def: siDef, docs: def.docs };
        return id;
      }
      case 'lazy':
        return this.idOf(def.resolve());
      case 'foreign':
        return this.#importForeign(def.source, def.id);
    }
  }

  /** Copies type `id` of another registry, and everything it refers to, into this one. */
  #importForeign(source: ForeignTypeSource, sourceId: number): number {
    const key = `${source.name}#${sourceId}`;
    const known = this.#foreign.get(key);
    if (known !== undefined) return known;
    const entry = source.types.find((t) => t.id === sourceId) ?? source.types[sourceId];
    if (!entry || entry.id !== sourceId) throw new Error(`${source.name} has no type ${sourceId}`);
    const { path, params, def, docs } = entry.type;
    const map = (id: unknown): number => this.#importForeign(source, Number(id));
    const mapFields = (fields: unknown): SiField[] =>
      (fields as { name: string | null; type: number; typeName: string | null; docs: string[] }[]).map(
        (f) => ({
          name: f.name,
          type: map(f.type),
          typeName: f.typeName,
          docs: f.docs ?? [],
        }),
      );
    const kind = Object.keys(def)[0];
    const body = def[kind as string] as Record<string, unknown>;
    // Anonymous shapes are deduplicated against ours (their u8 is our u8).
    switch (kind) {
      case 'primitive': {
        const primitive = String(body);
        const id = this.#shaped(`p:${primitive}`, { path: [], params: [], def: { primitive }, docs: [] });
        this.#foreign.set(key, id);
        return id;
      }
      case 'compact':
      case 'sequence': {
        const inner = map(body.type);
        const id = this.#shaped(`${kind === 'compact' ? 'c' : 's'}:${inner}`, {
          path: [],
          params: [],
          def: kind === 'compact' ? { compact: { type: inner } } : { sequence: { type: inner } },
          docs: [],
        });
        this.#foreign.set(key, id);
        return id;
      }
      case 'array': {
        const inner = map(body.type);
        const len = Number(body.len);
        const id = this.#shaped(`a:${len}:${inner}`, {
          path: [],
          params: [],
          def: { array: { len, type: inner } },
          docs: [],
        });
        this.#foreign.set(key, id);
        return id;
      }
      case 'tuple': {
        const items = (def.tuple as number[]).map(map);
        const id = this.#shaped(`t:${items.join(',')}`, {
          path: [],
          params: [],
          def: { tuple: items },
          docs: [],
        });
        this.#foreign.set(key, id);
        return id;
      }
      case 'composite':
      case 'variant':
      case 'bitSequence': {
        const id = this.#reserve();
        this.#foreign.set(key, id);
        const mappedParams = params.map((p) => ({
          name: p.name,
          type: p.type === null ? null : map(p.type),
        }));
        let siDef: SiTypeDef;
        if (kind === 'composite') siDef = { composite: { fields: mapFields(body.fields) } };
        else if (kind === 'variant') {
          const variants = (
            body.variants as { name: string; fields: unknown; index: number; docs: string[] }[]
          ).map((v) => ({ name: v.name, index: v.index, fields: mapFields(v.fields), docs: v.docs ?? [] }));
          siDef = { variant: { variants } };
        } else
          siDef = {
            bitSequence: { bitStoreType: map(body.bitStoreType), bitOrderType: map(body.bitOrderType) },
          };
        this.#types[id] = { path, params: mappedParams, def: siDef, docs: docs ?? [] };
        return id;
      }
      default:
        throw new Error(`${source.name} type ${sourceId}: unsupported definition ${kind}`);
    }
  }
}
