import { fromHex, type Hex, toHex } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';
import type { DecodedXcm } from './decode.js';
import { encodeXcm } from './encode.js';
import { integerJson, type JsonObject, type JsonValue } from './json.js';
import type { JunctionJson, LocationJson } from './location.js';

export type WeightJson = { refTime: number | string; proofSize: number | string };
export type AssetJson = { id: LocationJson; fun: { fungible: number | string } };
/** `Unlimited`, or a limit on ref time and proof size. */
export type WeightLimit = 'unlimited' | WeightJson;
export type OriginKind = 'Native' | 'SovereignAccount' | 'Superuser' | 'Xcm';

export function weight(refTime: bigint | number, proofSize: bigint | number): WeightJson {
  return { refTime: u64(refTime, 'weight.refTime'), proofSize: u64(proofSize, 'weight.proofSize') };
}

/** `amount` units of the fungible asset at `id` (a location relative to the receiver). */
export function fungibleAsset(id: LocationJson, amount: bigint | number | string): AssetJson {
  const n = BigInt(amount);
  if (n <= 0n || n >= 1n << 128n) throw new InvalidInputError('asset.amount', 'a u128 above zero');
  return { id, fun: { fungible: integerJson(n, 128) } };
}

export type RequestProgramParameters = {
  /** 4 or 5 (default 5); the project never sends V2 or V3. */
  version?: 4 | 5 | undefined;
  /** Withdrawn from the origin's account on the destination and spent on execution. */
  fees: AssetJson;
  weightLimit?: WeightLimit | undefined;
  /** How the Transact's origin is expressed: the sovereign account of the origin, or the XCM origin itself. */
  originKind?: 'SovereignAccount' | 'Xcm' | undefined;
  /** The SCALE-encoded call, e.g. `phalaContracts.request(..)`. */
  call: Hex | Uint8Array;
  /** V4 `require_weight_at_most` (required for V4); V5 `fallback_max_weight` (optional). */
  transactWeight?: WeightJson | undefined;
  /** 32 bytes; becomes the message id. */
  topic: Hex | Uint8Array;
  /** Sent first, so the program runs as that account on the origin chain (PROTOCOL.md §9). */
  descendOrigin?: JunctionJson | undefined;
  /** When set, leftover fees are deposited here (RefundSurplus + DepositAsset) before SetTopic. */
  refundTo?: LocationJson | undefined;
};

/**
 * The request program a sibling parachain sends to the Phala-style chain (PROTOCOL.md §9):
 * `[DescendOrigin?, WithdrawAsset, BuyExecution, Transact{originKind, call}, SetTopic(topic)]`.
 */
export function buildRequestProgram(p: RequestProgramParameters): DecodedXcm {
  const version = p.version ?? 5;
  const instructions: JsonValue[] = [];
  if (p.descendOrigin) instructions.push({ descendOrigin: { x1: [p.descendOrigin] } });
  instructions.push({ withdrawAsset: [p.fees] });
  instructions.push({ buyExecution: { fees: p.fees, weightLimit: limitJson(p.weightLimit) } });
  instructions.push(transact(version, p.originKind ?? 'SovereignAccount', p.call, p.transactWeight));
  if (p.refundTo) {
    instructions.push({ refundSurplus: null });
    instructions.push({ depositAsset: { assets: { wild: { allCounted: 1 } }, beneficiary: p.refundTo } });
  }
  instructions.push({ setTopic: topicHex(p.topic) });
  return encodeXcm({ [`v${version}`]: instructions });
}

export type ResponsePayment =
  | { kind: 'unpaid'; weightLimit?: WeightLimit | undefined; checkOrigin?: LocationJson | null | undefined }
  | { kind: 'paid'; fees: AssetJson; weightLimit?: WeightLimit | undefined };

export type ResponseProgramParameters = {
  version?: 4 | 5 | undefined;
  payment: ResponsePayment;
  /** The SCALE-encoded callback call on the origin chain: `<callback>(requestId, publicOutput, sealedOutput, proof)`. */
  call: Hex | Uint8Array;
  /** Default `Xcm`: the callback sees the Phala-style chain itself as its origin. */
  originKind?: OriginKind | undefined;
  transactWeight?: WeightJson | undefined;
  topic: Hex | Uint8Array;
};

/**
 * The response program the Phala-style chain sends back to a request's origin (PROTOCOL.md §9):
 * `[UnpaidExecution | WithdrawAsset + BuyExecution, Transact{call}, SetTopic(responseTopic)]`.
 */
export function buildResponseProgram(p: ResponseProgramParameters): DecodedXcm {
  const version = p.version ?? 5;
  const instructions: JsonValue[] = [];
  if (p.payment.kind === 'unpaid') {
    instructions.push({
      unpaidExecution: {
        weightLimit: limitJson(p.payment.weightLimit),
        checkOrigin: p.payment.checkOrigin ?? null,
      },
    });
  } else {
    instructions.push({ withdrawAsset: [p.payment.fees] });
    instructions.push({
      buyExecution: { fees: p.payment.fees, weightLimit: limitJson(p.payment.weightLimit) },
    });
  }
  instructions.push(transact(version, p.originKind ?? 'Xcm', p.call, p.transactWeight));
  instructions.push({ setTopic: topicHex(p.topic) });
  return encodeXcm({ [`v${version}`]: instructions });
}

function transact(
  version: 4 | 5,
  originKind: OriginKind,
  call: Hex | Uint8Array,
  w: WeightJson | undefined,
): JsonObject {
  const encoded = typeof call === 'string' ? toHex(fromHex(call, 'call')) : toHex(call);
  if (version === 4) {
    if (!w)
      throw new InvalidInputError(
        'transactWeight',
        'a weight (XCM V4 Transact requires require_weight_at_most)',
      );
    return { transact: { originKind, requireWeightAtMost: w, call: { encoded } } };
  }
  return { transact: { originKind, fallbackMaxWeight: w ?? null, call: { encoded } } };
}

function limitJson(limit: WeightLimit | undefined): JsonValue {
  if (limit === undefined || limit === 'unlimited') return { unlimited: null };
  return { limited: limit };
}

function topicHex(topic: Hex | Uint8Array): Hex {
  return typeof topic === 'string' ? toHex(fromHex(topic, 'topic', 32)) : toHex(checkTopic(topic));
}

function checkTopic(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 32) throw new InvalidInputError('topic', `32 bytes, got ${bytes.length}`);
  return bytes;
}

function u64(value: bigint | number, field: string): number | string {
  const n = BigInt(value);
  if (n < 0n || n >= 1n << 64n) throw new InvalidInputError(field, 'a u64');
  return integerJson(n, 64);
}
