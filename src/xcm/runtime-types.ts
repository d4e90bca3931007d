import { Metadata, TypeRegistry } from '@polkadot/types';
import staticPolkadotV14 from '@polkadot/types-support/metadata/static-polkadot';
import polkadotV15Hex from '@polkadot/types-support/metadata/v15/polkadot-hex';
import { hexToU8a } from '@polkadot/util';
import { TypeTable } from './type-table.js';

export type XcmVersion = 2 | 3 | 4 | 5;
export const XCM_VERSIONS: readonly XcmVersion[] = [2, 3, 4, 5];
/** Versions this project writes; V2 is only read (decoded, re-encoded, converted upwards). */
export const WRITABLE_VERSIONS: readonly XcmVersion[] = [3, 4, 5];

/** The three versioned XCM types the codec handles. */
export type XcmKind = 'xcm' | 'location' | 'assets';

/**
 * The XCM types of one real runtime's metadata: the @polkadot/types registry, the flat type
 * table, and the lookup ids of the versioned types and of each version's inner type.
 */
export type RuntimeTypes = {
  readonly source: string;
  readonly registry: TypeRegistry;
  readonly table: TypeTable;
  readonly versioned: Readonly<Record<XcmKind, number>>;
  /** kind → version → lookup id of the unversioned type (e.g. staging_xcm::v4::Xcm). */
  readonly inner: Readonly<Record<XcmKind, ReadonlyMap<number, number>>>;
  /** The @polkadot/types name of a lookup id, for createType. */
  typeName(id: number): string;
};

let modern: RuntimeTypes | undefined;
let legacy: RuntimeTypes | undefined;

/**
 * V3, V4 and V5 come from the Polkadot relay metadata V15 (spec 2000000) that
 * @polkadot/types-support ships; V2 (no longer in current runtimes) from its static V14 Polkadot
 * metadata. Each registry is built once, on first use (~1 s), and reused.
 */
export function runtimeTypesFor(version: XcmVersion): RuntimeTypes {
  if (version === 2) {
    legacy ??= load('@polkadot/types-support static-polkadot (metadata V14)', hexToU8a(staticPolkadotV14));
    return legacy;
  }
  modern ??= load(
    '@polkadot/types-support metadata/v15/polkadot-hex (spec 2000000)',
    unwrapOptionBytes(polkadotV15Hex),
  );
  return modern;
}

/** Builds both registries now (e.g. before a benchmark or at daemon start). */
export function preloadXcmTypes(): void {
  runtimeTypesFor(2);
  runtimeTypesFor(5);
}

/** metadata/v15/*-hex is the reply of `Metadata_metadata_at_version`: an Option<Bytes>. */
function unwrapOptionBytes(hex: string): Uint8Array {
  const registry = new TypeRegistry();
  const option = registry.createType('Option<Bytes>', hexToU8a(hex));
  if (option.isNone) throw new Error('bundled V15 metadata is empty');
  return option.unwrap().toU8a(true);
}

function load(source: string, bytes: Uint8Array): RuntimeTypes {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, bytes);
  registry.setMetadata(metadata);
  const table = new TypeTable(registry.lookup);

  const versioned: Record<XcmKind, number> = {
    xcm: sendMessageType(metadata, registry.lookup) ?? findByPath(metadata, ['xcm', 'VersionedXcm']),
    location: findByPath(metadata, ['xcm', 'VersionedLocation']),
    assets: findByPath(metadata, ['xcm', 'VersionedAssets']),
  };
  const inner = {} as Record<XcmKind, Map<number, number>>;
  for (const kind of Object.keys(versioned) as XcmKind[]) {
    const node = table.get(versioned[kind]);
    const byVersion = new Map<number, number>();
    if (node.kind === 'variant') {
      for (const v of node.variants) {
        const m = /^V(\d)$/.exec(v.name);
        if (m && v.fields.length === 1) byVersion.set(Number(m[1]), v.fields[0]!.type);
      }
    }
    inner[kind] = byVersion;
  }
  const names = new Map<number, string>();
  return {
    source,
    registry,
    table,
    versioned,
    inner,
    typeName(id: number): string {
      let name = names.get(id);
      if (!name) {
        name = registry.createLookupType(id);
        names.set(id, name);
      }
      return name;
    },
  };
}

/** `VersionedXcm<()>` is the type of `XcmPallet.send`'s message (there is also one with RuntimeCall). */
function sendMessageType(metadata: Metadata, lookup: TypeRegistry['lookup']): number | undefined {
  const pallet = metadata.asLatest.pallets.find((p) =>
    ['XcmPallet', 'PolkadotXcm'].includes(p.name.toString()),
  );
  if (!pallet || pallet.calls.isNone) return undefined;
  const calls = lookup.getSiType(pallet.calls.unwrap().type);
  if (!calls.def.isVariant) return undefined;
  const send = calls.def.asVariant.variants.find((v) => v.name.toString() === 'send');
  const message = send?.fields.find((f) => f.name.isSome && f.name.unwrap().toString() === 'message');
  return message?.type.toNumber();
}

function findByPath(metadata: Metadata, path: string[]): number {
  const wanted = path.join('::');
  for (const t of metadata.asLatest.lookup.types) {
    if (t.type.path.map((p) => p.toString()).join('::') === wanted) return t.id.toNumber();
  }
  throw new Error(`bundled metadata has no type ${wanted}`);
}
