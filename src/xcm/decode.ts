import { fromHex, type Hex, toHex } from '../base/bytes.js';
import { errorMessage } from '../base/errors.js';
import { XcmDecodeError } from './errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
import { DEFAULT_LIMITS, type DecodeLimits } from './limits.js';
import { messageHash, messageIdOf, topicOf } from './message-id.js';
import { type RuntimeTypes, runtimeTypesFor, type XcmKind, type XcmVersion } from './runtime-types.js';
import { scanScale } from './scale-scan.js';

export type DecodeOptions = { limits?: Partial<DecodeLimits> | undefined };

type DecodedBase<K extends XcmKind> = {
  kind: K;
  version: XcmVersion;
  /** Exactly the bytes that were decoded. */
  bytes: Uint8Array;
  hex: Hex;
  /** The versioned value as @polkadot/types prints it, e.g. `{ v4: [...] }`. */
  json: JsonObject;
};

export type DecodedXcm = DecodedBase<'xcm'> & {
  /** The instructions (`json.v<N>`). */
  instructions: JsonValue[];
  /** blake2_256(bytes). */
  hash: Hex;
  /** The trailing SetTopic, if any. */
  topic: Hex | null;
  /** The message id: topic, else hash. */
  id: Hex;
};
export type DecodedLocation = DecodedBase<'location'> & { location: JsonValue };
export type DecodedAssets = DecodedBase<'assets'> & { assets: JsonValue[] };
export type Decoded<K extends XcmKind> = K extends 'xcm'
  ? DecodedXcm
  : K extends 'location'
    ? DecodedLocation
    : DecodedAssets;

/** Decodes `VersionedXcm` bytes (V2–V5). Throws only XcmDecodeError. */
export function decodeXcm(input: Uint8Array | string, options: DecodeOptions = {}): DecodedXcm {
  return decodeVersioned('xcm', input, options);
}

/** Decodes `VersionedLocation` bytes (V2–V5). Throws only XcmDecodeError. */
export function decodeLocation(input: Uint8Array | string, options: DecodeOptions = {}): DecodedLocation {
  return decodeVersioned('location', input, options);
}

/** Decodes `VersionedAssets` bytes (V2–V5). Throws only XcmDecodeError. */
export function decodeAssets(input: Uint8Array | string, options: DecodeOptions = {}): DecodedAssets {
  return decodeVersioned('assets', input, options);
}

export function decodeVersioned<K extends XcmKind>(
  kind: K,
  input: Uint8Array | string,
  options: DecodeOptions = {},
): Decoded<K> {
  try {
    return decodeUnchecked(kind, input, { ...DEFAULT_LIMITS, ...options.limits });
  } catch (error) {
    if (error instanceof XcmDecodeError) throw error;
    // Anything else escaping is a bug or a library surprise; it still leaves as a decode error.
    throw new XcmDecodeError('internal', errorMessage(error), { cause: error });
  }
}

function decodeUnchecked<K extends XcmKind>(
  kind: K,
  input: Uint8Array | string,
  limits: DecodeLimits,
): Decoded<K> {
  const bytes = toBytes(input);
  if (bytes.length === 0) throw new XcmDecodeError('empty', 'no bytes');
  if (bytes.length > limits.maxBytes) {
    throw new XcmDecodeError('too-large', `${bytes.length} bytes, at most ${limits.maxBytes}`, {
      limit: { name: 'maxBytes (message cap)', max: limits.maxBytes, actual: bytes.length },
    });
  }
  const { rt, version } = typesForTag(kind, bytes[0]!);
  const typeId = rt.versioned[kind];
  const end = scanScale(rt.table, typeId, bytes, limits);
  if (end !== bytes.length) {
    throw new XcmDecodeError('trailing-bytes', `${bytes.length - end} byte(s) after the value`, {
      offset: end,
    });
  }
  const codec = rt.registry.createType(rt.typeName(typeId), bytes);
  const again = codec.toU8a();
  if (codec.encodedLength !== bytes.length || toHex(again) !== toHex(bytes)) {
    throw new XcmDecodeError('not-canonical', 're-encoding gives different bytes');
  }
  return buildDecoded(kind, version, bytes, codec.toJSON());
}

/** The decoded form of checked bytes and their polkadot-js JSON (shared with the encoder). */
export function buildDecoded<K extends XcmKind>(
  kind: K,
  version: XcmVersion,
  bytes: Uint8Array,
  json: unknown,
): Decoded<K> {
  const inner = isJsonObject(json) ? json[`v${version}`] : undefined;
  if (!isJsonObject(json) || inner === undefined) {
    throw new XcmDecodeError('internal', `unexpected JSON form for ${kind} V${version}`);
  }
  const base = { version, bytes, hex: toHex(bytes), json };
  let result: DecodedXcm | DecodedLocation | DecodedAssets;
  if (kind === 'xcm') {
    const instructions = Array.isArray(inner) ? inner : [];
    const topic = topicOf(instructions);
    result = {
      kind: 'xcm',
      ...base,
      instructions,
      hash: messageHash(bytes),
      topic,
      id: messageIdOf(instructions, bytes),
    };
  } else if (kind === 'location') {
    result = { kind: 'location', ...base, location: inner };
  } else {
    result = { kind: 'assets', ...base, assets: Array.isArray(inner) ? inner : [] };
  }
  return result as unknown as Decoded<K>;
}

/**
 * The first byte is the variant index of the versioned type, which is the version number except
 * for V2 locations and assets (index 1: V1 and V2 shared those types).
 */
function typesForTag(kind: XcmKind, tag: number): { rt: RuntimeTypes; version: XcmVersion } {
  for (const v of [5, 2] as const) {
    const rt = runtimeTypesFor(v);
    const node = rt.table.get(rt.versioned[kind]);
    const variant = node.kind === 'variant' ? node.byIndex.get(tag) : undefined;
    const m = variant ? /^V([2-5])$/.exec(variant.name) : null;
    if (m && (v === 5 || m[1] === '2')) return { rt, version: Number(m[1]) as XcmVersion };
    if (v === 5 && tag !== LEGACY_TAG[kind]) break; // do not load the V2 registry for junk
  }
  throw new XcmDecodeError('unsupported-version', `version tag ${tag}; V2 to V5 are supported`, {
    offset: 0,
  });
}

const LEGACY_TAG: Record<XcmKind, number> = { xcm: 2, location: 1, assets: 1 };

function toBytes(input: Uint8Array | string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (typeof input !== 'string') throw new XcmDecodeError('invalid-hex', 'expected bytes or a 0x-hex string');
  try {
    return fromHex(input.trim(), 'xcm');
  } catch {
    throw new XcmDecodeError('invalid-hex', 'expected an even-length 0x-hex string');
  }
}
