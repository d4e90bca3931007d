/**
 * XCM for phala-bridge: a codec for VersionedXcm / VersionedLocation / VersionedAssets (V2 read
 * only, V3–V5 read and write) built on real runtime metadata, version conversion, locations,
 * message ids, the request/response programs of PROTOCOL.md §9, a printer, XCMP pages, and a
 * tracker that follows messages by id across chains.
 */
export * from './builders.js';
export * from './convert.js';
export { decodeAssets, decodeLocation, decodeVersioned, decodeXcm } from './decode.js';
export type { Decoded, DecodedAssets, DecodedLocation, DecodedXcm, DecodeOptions } from './decode.js';
export * from './encode.js';
export * from './errors.js';
export { formatInstructions, formatXcm, locationText } from './format.js';
export type { FormatOptions } from './format.js';
export type { JsonObject, JsonValue } from './json.js';
export * from './limits.js';
export * from './location.js';
export * from './message-id.js';
export * from './sovereign.js';
export { preloadXcmTypes, WRITABLE_VERSIONS, XCM_VERSIONS } from './runtime-types.js';
export type { XcmKind, XcmVersion } from './runtime-types.js';
export * from './xcmp.js';
export * from './tracker/index.js';
