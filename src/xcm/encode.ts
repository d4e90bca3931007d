import { type Hex, toHex } from '../base/bytes.js';
import { errorMessage } from '../base/errors.js';
import { buildDecoded, type DecodedAssets, type DecodedLocation, type DecodedXcm } from './decode.js';
import { XcmDecodeError, XcmEncodeError } from './errors.js';
import { isJsonObject, type JsonValue, normalizeJson } from './json.js';
import { DEFAULT_LIMITS } from './limits.js';
import { runtimeTypesFor, type XcmKind, type XcmVersion } from './runtime-types.js';
import { scanScale } from './scale-scan.js';

export type EncodeOptions = {
  /** V2 is read-only in this project; set to re-encode a decoded V2 value. */
  allowV2?: boolean | undefined;
};

type Encoded<K extends XcmKind> = K extends 'xcm'
  ? DecodedXcm
  : K extends 'location'
    ? DecodedLocation
    : DecodedAssets;

/**
 * Encodes a versioned XCM program from its polkadot-js JSON form (`{ v4: [...] }` or `{ V5: [...] }`,
 * keys in any case). The JSON is checked strictly first; the result is decoded again so it obeys
 * the same limits as received messages. Throws XcmEncodeError.
 */
export function encodeXcm(json: unknown, options: EncodeOptions = {}): DecodedXcm {
  return encodeVersioned('xcm', json, options);
}

export function encodeLocation(json: unknown, options: EncodeOptions = {}): DecodedLocation {
  return encodeVersioned('location', json, options);
}

export function encodeAssets(json: unknown, options: EncodeOptions = {}): DecodedAssets {
  return encodeVersioned('assets', json, options);
}

export function encodeVersioned<K extends XcmKind>(
  kind: K,
  json: unknown,
  options: EncodeOptions = {},
): Encoded<K> {
  const version = versionOfJson(json, kind);
  if (version === 2 && !options.allowV2) {
    throw new XcmEncodeError(kind, 'V2 is read-only here; convert it to V3 or later first');
  }
  const rt = runtimeTypesFor(version);
  const typeId = rt.versioned[kind];
  const normalized = normalizeJson(rt.table, typeId, json, kind);
  let bytes: Uint8Array;
  let encodedJson: unknown;
  try {
    const codec = rt.registry.createType(rt.typeName(typeId), normalized);
    bytes = codec.toU8a();
    encodedJson = codec.toJSON();
  } catch (error) {
    throw new XcmEncodeError(kind, errorMessage(error), { cause: error });
  }
  try {
    // The bytes obey the same limits as received messages (instruction count, depth, assets ...).
    const end = scanScale(rt.table, typeId, bytes, DEFAULT_LIMITS);
    if (end !== bytes.length) throw new XcmDecodeError('trailing-bytes', 'encoder produced extra bytes');
    return buildDecoded(kind, version, bytes, encodedJson) as Encoded<K>;
  } catch (error) {
    const reason = error instanceof XcmDecodeError ? error.shortMessage : errorMessage(error);
    throw new XcmEncodeError(kind, `the encoded value is not acceptable: ${reason}`, { cause: error });
  }
}

/** The encoding of a raw unversioned value of a version's inner type (e.g. a Location) as hex. */
export function encodeInner(kind: XcmKind, version: XcmVersion, json: JsonValue): Hex {
  const rt = runtimeTypesFor(version);
  const id = rt.inner[kind].get(version);
  if (id === undefined) throw new XcmEncodeError(kind, `V${version} is not available`);
  const normalized = normalizeJson(rt.table, id, json, `${kind}.v${version}`);
  return toHex(rt.registry.createType(rt.typeName(id), normalized).toU8a());
}

export function versionOfJson(json: unknown, kind: string): XcmVersion {
  if (!isJsonObject(json)) throw new XcmEncodeError(kind, 'expected an object like { "v4": ... }');
  const keys = Object.keys(json);
  const m = keys.length === 1 ? /^[vV]([2-5])$/.exec(keys[0]!) : null;
  if (!m)
    throw new XcmEncodeError(
      kind,
      `expected exactly one key v2, v3, v4 or v5, got ${keys.join(', ') || 'none'}`,
    );
  return Number(m[1]) as XcmVersion;
}
