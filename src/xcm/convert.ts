import { BaseError } from '../base/errors.js';
import { Converter } from './converter.js';
import { type DecodedAssets, type DecodedLocation, type DecodedXcm, decodeVersioned } from './decode.js';
import { encodeVersioned, versionOfJson } from './encode.js';
import { XcmConversionError } from './errors.js';
import { isJsonObject, type JsonValue, normalizeJson } from './json.js';
import { runtimeTypesFor, type XcmKind, type XcmVersion } from './runtime-types.js';

type Result<K extends XcmKind> = K extends 'xcm'
  ? DecodedXcm
  : K extends 'location'
    ? DecodedLocation
    : DecodedAssets;

/**
 * Converts a program to another XCM version, one version at a time (V2→V3→V4→V5, V5→V4→V3) as
 * polkadot-sdk does. V2 can be converted from, never to. The input is a decoded value, its
 * JSON (`{ v4: [...] }`), or its bytes (Uint8Array or 0x-hex). Throws XcmConversionError naming the first part with no equivalent,
 * e.g. V5 `PayFees` to V4, or a V3 abstract asset id to V4.
 *
 * A trailing SetTopic survives, so the message id of a program with a topic is unchanged; without
 * one the id is the hash of the new bytes.
 */
export function convertXcm(input: DecodedXcm | unknown, to: XcmVersion): DecodedXcm {
  return convertVersioned('xcm', input, to);
}

export function convertLocation(input: DecodedLocation | unknown, to: XcmVersion): DecodedLocation {
  return convertVersioned('location', input, to);
}

export function convertAssets(input: DecodedAssets | unknown, to: XcmVersion): DecodedAssets {
  return convertVersioned('assets', input, to);
}

export function convertVersioned<K extends XcmKind>(kind: K, input: unknown, to: XcmVersion): Result<K> {
  const json = isDecoded(input)
    ? input.json
    : input instanceof Uint8Array || typeof input === 'string'
      ? decodeVersioned(kind, input).json
      : input;
  const from = versionOfJson(json, kind);
  if (to === 2) throw new XcmConversionError(from, to, kind, 'V2 is read-only; convert to V3 or later');
  if (![3, 4, 5].includes(to)) throw new XcmConversionError(from, to, kind, 'unknown target version');
  const srcTypes = runtimeTypesFor(from);
  const normalized = normalizeJson(srcTypes.table, srcTypes.versioned[kind], json, kind);
  let value: JsonValue = isJsonObject(normalized) ? normalized[`v${from}`]! : null;
  let version: XcmVersion = from;
  while (version !== to) {
    const next = (version < to ? version + 1 : version - 1) as XcmVersion;
    value = step(kind, version, next, value);
    version = next;
  }
  try {
    return encodeVersioned(kind, { [`v${to}`]: value }, { allowV2: false }) as Result<K>;
  } catch (error) {
    const reason = error instanceof BaseError ? error.shortMessage : String(error);
    throw new XcmConversionError(from, to, kind, reason, { cause: error });
  }
}

function step(kind: XcmKind, from: XcmVersion, to: XcmVersion, value: JsonValue): JsonValue {
  const src = runtimeTypesFor(from);
  const dst = runtimeTypesFor(to);
  const srcId = src.inner[kind].get(from);
  const dstId = dst.inner[kind].get(to);
  if (srcId === undefined || dstId === undefined)
    throw new XcmConversionError(from, to, kind, 'version not available');
  try {
    return new Converter(src.table, dst.table, from, to).convert(srcId, dstId, value, `${kind}.v${from}`);
  } catch (error) {
    if (error instanceof XcmConversionError) throw error;
    throw new XcmConversionError(from, to, kind, error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

function isDecoded(input: unknown): input is DecodedXcm | DecodedLocation | DecodedAssets {
  return (
    isJsonObject(input as JsonValue) &&
    typeof (input as { kind?: unknown }).kind === 'string' &&
    'json' in (input as object) &&
    (input as { bytes?: unknown }).bytes instanceof Uint8Array
  );
}
