/**
 * Bounds applied to every decode, each with the name the XCM crate (polkadot-sdk staging-xcm)
 * gives it, so an error can say which limit was hit. The crate enforces the first three when a
 * chain decodes a message (MAX_XCM_DECODE_DEPTH, MAX_INSTRUCTIONS_TO_DECODE, MAX_ITEMS_IN_ASSETS)
 * and the BoundedVec bounds below; the rest keep a hostile input from making the decoder recurse
 * or allocate without limit.
 */
export const MAX_XCM_DEPTH = 8;
export const MAX_INSTRUCTIONS = 100;
export const MAX_ASSETS = 20;
/** Default cap on an encoded message; HRMP/UMP/DMP limits on Polkadot are all below 128 KiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024;
/** Nesting of SCALE types of any kind (structs in enums in vectors ...). */
export const MAX_TYPE_DEPTH = 96;
/**
 * Elements in one sequence of values that may encode to zero bytes (nothing else bounds their
 * count). Byte strings and sequences of non-empty values are bounded by the message cap alone,
 * as on chain.
 */
export const MAX_SEQUENCE_LENGTH = 64 * 1024;

/** A named limit, as it appears in errors: which one, its value, and what the input had. */
export type XcmLimit = { name: string; max: number; actual: number };

/**
 * The BoundedVec fields of the XCM types and their bounds in polkadot-sdk (staging-xcm v3–v5):
 * a chain refuses a longer list at decode. Scale-info metadata does not carry the bound (its
 * `S` parameter is skipped), so it is named here by `Type.variant.field` / `Type.field`, without
 * the version. Transact's call (`DoubleEncoded`), ExpectPallet's names and V2's WeakBoundedVecs
 * have no decode bound: only the message cap applies to them.
 */
export const BOUNDED_FIELDS: ReadonlyMap<string, { name: string; max: number }> = new Map([
  ['MaybeErrorCode.Error', { name: 'MaxDispatchErrorLen', max: 128 }],
  ['MaybeErrorCode.TruncatedError', { name: 'MaxDispatchErrorLen', max: 128 }],
  ['PalletInfo.name', { name: 'MaxPalletNameLen', max: 48 }],
  ['PalletInfo.module_name', { name: 'MaxPalletNameLen', max: 48 }],
  ['Response.PalletsInfo', { name: 'MaxPalletsInfo', max: 64 }],
  ['Instruction.SetHints.hints', { name: 'HintNumVariants', max: 1 }],
  ['Instruction.InitiateTransfer.assets', { name: 'MaxAssetTransferFilters', max: 6 }],
]);

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
