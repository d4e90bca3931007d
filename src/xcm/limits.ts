/**
 * Bounds applied to every decode. The XCM crate enforces the first three when a chain decodes a
 * message (MAX_XCM_DECODE_DEPTH, MAX_INSTRUCTIONS_TO_DECODE, MAX_ITEMS_IN_ASSETS); the rest keep
 * a hostile input from making the decoder recurse or allocate without limit.
 */
export const MAX_XCM_DEPTH = 8;
export const MAX_INSTRUCTIONS = 100;
export const MAX_ASSETS = 20;
/** Default cap on an encoded message; HRMP/UMP/DMP limits on Polkadot are all below 128 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024;
/** Nesting of SCALE types of any kind (structs in enums in vectors ...). */
export const MAX_TYPE_DEPTH = 96;
/** Elements in one sequence, whatever its element size. */
export const MAX_SEQUENCE_LENGTH = 64 * 1024;

export type DecodeLimits = {
  maxBytes: number;
  maxXcmDepth: number;
  maxInstructions: number;
  maxAssets: number;
};

export const DEFAULT_LIMITS: DecodeLimits = {
  maxBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxXcmDepth: MAX_XCM_DEPTH,
  maxInstructions: MAX_INSTRUCTIONS,
  maxAssets: MAX_ASSETS,
};
