/**
 * Which chain a location points to, seen from a given chain. The tracker uses it to know the
 * destination of a sent message (so an intermediate hop's processing does not end it).
 * Chains are named by the caller; a chain without a para id is the relay chain.
 */
export type XcmTopology = Readonly<Record<string, { paraId?: number | undefined }>>;

export function resolveLocation(topology: XcmTopology, from: string, location: unknown): string | undefined {
  const here = topology[from];
  const loc = parseLocation(location);
  if (!here || !loc) return undefined;
  const relay = Object.keys(topology).find((name) => topology[name]?.paraId === undefined);
  const para = (id: number) => Object.keys(topology).find((name) => topology[name]?.paraId === id);
  const [first, ...rest] = loc.junctions;
  if (rest.length > 0) return undefined; // accounts, pallets ... are inside a chain, not another chain
  if (here.paraId === undefined) {
    if (loc.parents === 0 && !first) return from;
    if (loc.parents === 0 && first?.kind === 'parachain' && typeof first.value === 'number')
      return para(first.value);
    return undefined;
  }
  if (loc.parents === 0 && !first) return from;
  if (loc.parents === 1 && !first) return relay;
  if (loc.parents === 1 && first?.kind === 'parachain' && typeof first.value === 'number')
    return para(first.value);
  return undefined;
}

type LooseJunction = { kind: string; value: unknown };

/**
 * Reads a location in the JSON forms chain tooling produces: polkadot-js (`{ x1: [{ parachain: 7 }] }`,
 * any key case, V3 `x1: {...}` too) and polkadot-api (`{ type: 'X1', value: { type: 'Parachain', value: 7 } }`).
 */
export function parseLocation(value: unknown): { parents: number; junctions: LooseJunction[] } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const parents = Number(v.parents ?? v.Parents);
  if (!Number.isInteger(parents) || parents < 0 || parents > 255) return undefined;
  const interior = enumOf(v.interior ?? v.Interior);
  if (!interior) return undefined;
  if (interior.kind === 'here') return { parents, junctions: [] };
  if (!/^x[1-8]$/.test(interior.kind)) return undefined;
  const list = Array.isArray(interior.value) ? interior.value : [interior.value];
  const junctions: LooseJunction[] = [];
  for (const j of list) {
    const e = enumOf(j);
    if (!e) return undefined;
    const n =
      typeof e.value === 'string' && /^\d+$/.test(e.value.replace(/,/g, ''))
        ? Number(e.value.replace(/,/g, ''))
        : e.value;
    junctions.push({ kind: e.kind, value: n });
  }
  return { parents, junctions };
}

/** `{ name: value }`, `'Name'` or `{ type: 'Name', value }` → lower-camel name and value. */
export function enumOf(value: unknown): { kind: string; value: unknown } | undefined {
  if (typeof value === 'string') return { kind: lowerFirst(value), value: null };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.type === 'string' && Object.keys(v).every((k) => k === 'type' || k === 'value')) {
    return { kind: lowerFirst(v.type), value: v.value ?? null };
  }
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  return { kind: lowerFirst(keys[0]!), value: v[keys[0]!] };
}

function lowerFirst(s: string): string {
  return s.length ? s[0]!.toLowerCase() + s.slice(1) : s;
}
