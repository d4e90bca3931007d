import { BaseError, type BaseErrorParameters, type Retry } from '../base/errors.js';
import type { XcmLimit } from './limits.js';

/** Why bytes were refused; stable codes for tests, logs and metrics. */
export type XcmDecodeReason =
  | 'empty'
  | 'too-large'
  | 'unsupported-version'
  | 'truncated'
  | 'trailing-bytes'
  | 'invalid-variant'
  | 'invalid-bool'
  | 'invalid-option'
  | 'invalid-utf8'
  | 'non-canonical-compact'
  | 'compact-overflow'
  | 'too-deep'
  | 'too-many-instructions'
  | 'too-many-assets'
  | 'assets-out-of-order'
  | 'bound-exceeded'
  | 'too-long'
  | 'zero-fungible'
  | 'unsupported-type'
  | 'not-canonical'
  | 'invalid-hex'
  | 'invalid-frame'
  | 'internal';

export type XcmDecodeErrorParameters = BaseErrorParameters & {
  offset?: number | undefined;
  /** Set when a limit refused the input: its name, its value and the size found. */
  limit?: XcmLimit | undefined;
};

/**
 * The only error the decoder throws on hostile input: a reason code, the byte offset where it
 * was found (when known), the limit that refused it (if one did), and a short message naming
 * the type that was being read.
 */
export class XcmDecodeError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'XcmDecodeError';
  readonly reason: XcmDecodeReason;
  readonly offset: number | undefined;
  readonly limit: XcmLimit | undefined;
  constructor(reason: XcmDecodeReason, message: string, parameters: XcmDecodeErrorParameters = {}) {
    const { offset, limit, ...rest } = parameters;
    const at = offset === undefined ? '' : ` at byte ${offset}`;
    const named = limit ? ` (limit ${limit.name} = ${limit.max}, got ${limit.actual})` : '';
    super(`cannot decode XCM (${reason})${at}: ${message}${named}`, {
      docsPath: limit ? 'docs/xcm.md#codec-limits' : 'docs/xcm.md#decoding',
      ...rest,
    });
    this.reason = reason;
    this.offset = offset;
    this.limit = limit;
  }
}

/** A JSON value given to the encoder does not fit the XCM type; `path` names the place. */
export class XcmEncodeError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'XcmEncodeError';
  readonly path: string;
  constructor(path: string, expected: string, parameters: BaseErrorParameters = {}) {
    super(`cannot encode XCM: ${path}: ${expected}`, { docsPath: 'docs/xcm.md#encoding', ...parameters });
    this.path = path;
  }
}

/** A message, location or asset cannot be expressed in the requested XCM version. */
export class XcmConversionError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'XcmConversionError';
  readonly from: number;
  readonly to: number;
  readonly path: string;
  constructor(from: number, to: number, path: string, reason: string, parameters: BaseErrorParameters = {}) {
    super(`cannot convert XCM V${from} to V${to}: ${path}: ${reason}`, {
      docsPath: 'docs/xcm.md#version-conversion',
      ...parameters,
    });
    this.from = from;
    this.to = to;
    this.path = path;
  }
}
