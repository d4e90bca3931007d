import { Metadata, TypeRegistry } from '@polkadot/types';
import { hexToU8a, isHex } from '@polkadot/util';
import type { ForeignPortableType, ForeignTypeSource } from '../scale/ty.js';
import { type AnyTy, t } from '../scale/ty.js';

/**
 * Types taken from a real runtime's metadata (XCM's `Location`, `VersionedXcm`...), so a composed
 * chain declares them exactly as Polkadot does instead of re-typing them. The builder copies the
 * type and everything it refers to; values are polkadot-js JSON.
 */

/** A type source from encoded metadata (V14+, `RuntimeMetadataPrefixed`). */
export function foreignSource(name: string, metadata: Uint8Array | `0x${string}`): ForeignTypeSource {
  const registry = new TypeRegistry();
  const bytes =
    typeof metadata === 'string' && isHex(metadata) ? hexToU8a(metadata) : (metadata as Uint8Array);
  const md = new Metadata(registry, bytes);
  const types = md.asLatest.lookup.types.toJSON() as unknown as ForeignPortableType[];
  return { name, types };
}

/** The metadata of the Polkadot relay chain shipped with @polkadot/types-support (V15, XCM v3-v5). */
export async function polkadotMetadataSource(): Promise<ForeignTypeSource> {
  const { default: hex } = (await import('@polkadot/types-support/metadata/v15/polkadot-hex')) as {
    default: string;
  };
  // The file holds `Option<OpaqueMetadata>`: 0x01, a compact length, then the metadata.
  const registry = new TypeRegistry();
  const opaque = registry.createType('Option<Bytes>', hexToU8a(hex));
  if (opaque.isNone) throw new Error('polkadot metadata missing');
  return foreignSource(
    'polkadot',
    (opaque.unwrap() as unknown as { toU8a(bare: boolean): Uint8Array }).toU8a(true),
  );
}

/** The id of the type at `path` in a source; `pick` chooses among several (generic instances). */
export function foreignTypeId(
  source: ForeignTypeSource,
  path: string,
  pick?: (type: ForeignPortableType) => boolean,
): number {
  const matches = source.types.filter((x) => x.type.path.join('::') === path && (!pick || pick(x)));
  if (matches.length === 0) throw new Error(`${source.name} has no type ${path}`);
  if (matches.length > 1)
    throw new Error(`${source.name} has ${matches.length} types ${path}; pass \`pick\``);
  return matches[0]!.id;
}

/** A `Ty` for the type at `path` in a source. */
export function foreignType(
  source: ForeignTypeSource,
  path: string,
  pick?: (type: ForeignPortableType) => boolean,
): AnyTy {
  return t.foreign(source, foreignTypeId(source, path, pick));
}
