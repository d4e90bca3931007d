import { type Hex, fromHex } from '../../base/bytes.js';
import { isJsonObject, type JsonValue } from '../../xcm/json.js';
import type { LocationJson } from '../../xcm/location.js';
import type { CallContext, RuntimeCallValue } from '../substrate/runtime/context.js';
import type { DispatchErrorValue, WeightValue } from '../substrate/runtime/types.js';
import { type Holding, type HoldingAsset, type AssetTransactor, assetKey } from './assets.js';
import type { XcmChainConfig } from './config.js';
import { type OriginKindName, convertOrigin, descend, isSameLocation, parseLocation } from './locations.js';

/**
 * The devnet's XCM executor: what polkadot-sdk's `XcmExecutor` does for the instructions the
 * project's flows use (WithdrawAsset, ReserveAssetDeposited, BuyExecution, RefundSurplus,
 * DepositAsset, Transact with origin conversion, DescendOrigin, ClearOrigin, UnpaidExecution,
 * SetTopic, ClearTopic, ExpectTransactStatus, ClearTransactStatus), with the weigher
 * (FixedWeightBounds), the barrier (TrailingSetTopicAsId, WithComputedOrigin,
 * AllowTopLevelPaidExecutionFrom, AllowExplicitUnpaidExecutionFrom) and a fee trader
 * (weight → fee in the native asset). Every other instruction stops the program with
 * `Unimplemented` at its index. Nothing here throws: every failure is an XCM error.
 */

/** An `XcmError` (V5): a variant name and, for Trap / WeightLimitReached, its value. */
export type XcmErrorValue = { name: string; value?: JsonValue };

export const xcmError = (name: string, value?: JsonValue): XcmErrorValue =>
  value === undefined ? { name } : { name, value };

/** The polkadot-js input of an XcmError value, e.g. `'Barrier'` or `{ trap: 3 }`. */
export function xcmErrorJson(error: XcmErrorValue): JsonValue {
  if (error.value === undefined) return error.name;
  return { [error.name[0]!.toLowerCase() + error.name.slice(1)]: error.value };
}

export type TransactFailure = { index: number; error: DispatchErrorValue };

export type ExecutionOutcome =
  /** Refused before executing (weighing or the barrier): nothing ran. */
  | { kind: 'error'; id: Hex; error: XcmErrorValue; weight: WeightValue }
  /** Heavier than the chain's per-message limit. */
  | { kind: 'overweight'; id: Hex; weight: WeightValue }
  | { kind: 'complete'; id: Hex; weightUsed: WeightValue; trapped: HoldingAsset[] }
  | {
      kind: 'incomplete';
      id: Hex;
      weightUsed: WeightValue;
      index: number;
      error: XcmErrorValue;
      /** Why the call in a Transact failed, when that is what stopped the program. */
      transactFailure?: TransactFailure;
      trapped: HoldingAsset[];
    };

export type ExecuteParameters = {
  /** Where the message came from, seen from this chain (Parent, Sibling(id), Parachain(id)). */
  origin: LocationJson;
  /** The program in V5 JSON. */
  instructions: JsonValue[];
  /** blake2_256 of the bytes received: the message id unless a SetTopic says otherwise. */
  hash: Hex;
  /** The version the message was sent in (V4 Transact weights are checked). */
  version: number;
};

export type ExecutorEnvironment = {
  config: XcmChainConfig;
  assets: AssetTransactor;
  weightToFee(ctx: CallContext, weight: WeightValue): bigint;
  /** Called while a Transact's call runs, so pallets can see which message they run in. */
  withMessage<T>(ctx: CallContext, message: { id: Hex; origin: LocationJson }, fn: () => T): T;
};

const ZERO: WeightValue = { refTime: 0n, proofSize: 0n };
const add = (a: WeightValue, b: WeightValue): WeightValue => ({
  refTime: a.refTime + b.refTime,
  proofSize: a.proofSize + b.proofSize,
});
const sub = (a: WeightValue, b: WeightValue): WeightValue => ({
  refTime: a.refTime > b.refTime ? a.refTime - b.refTime : 0n,
  proofSize: a.proofSize > b.proofSize ? a.proofSize - b.proofSize : 0n,
});
const fits = (w: WeightValue, limit: WeightValue) =>
  w.refTime <= limit.refTime && w.proofSize <= limit.proofSize;

/** The variant name and payload of an instruction (`{ withdrawAsset: [...] }`). */
function instructionOf(instruction: JsonValue): [string, JsonValue] {
  if (typeof instruction === 'string') return [instruction[0]!.toLowerCase() + instruction.slice(1), null];
  if (!isJsonObject(instruction)) return ['?', null];
  const entries = Object.entries(instruction);
  return entries.length === 1 ? [entries[0]![0], entries[0]![1]] : ['?', null];
}

/** u64/u128 JSON (a number, a decimal string or 0x-hex) as a bigint; null when it is not one. */
export function bigOf(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'string' && /^(\d{1,40}|0x[0-9a-fA-F]{1,64})$/.test(value)) return BigInt(value);
  return null;
}

export function weightOf(value: unknown): WeightValue | null {
  if (!isJsonObject(value)) return null;
  const refTime = bigOf(value.refTime);
  const proofSize = bigOf(value.proofSize);
  return refTime === null || proofSize === null ? null : { refTime, proofSize };
}

/** A `WeightLimit`: null for Unlimited, the weight for Limited, undefined when malformed. */
function weightLimitOf(value: unknown): WeightValue | null | undefined {
  if (value === 'Unlimited') return null;
  if (!isJsonObject(value)) return undefined;
  if ('unlimited' in value) return null;
  if ('limited' in value) return weightOf(value.limited) ?? undefined;
  return undefined;
}

/** A fungible asset `{ id, fun: { fungible } }`; null for non-fungibles and malformed values. */
function fungibleOf(value: unknown): HoldingAsset | null {
  if (!isJsonObject(value) || !isJsonObject(value.fun)) return null;
  const amount = bigOf(value.fun.fungible);
  const id = value.id;
  if (amount === null || !parseLocation(id)) return null;
  return { id: id as LocationJson, amount };
}

type Weighed = { total: WeightValue; perInstruction: WeightValue[]; calls: (RuntimeCallValue | null)[] };

/** FixedWeightBounds: a unit per instruction, plus the call's own weight for a Transact. */
function weigh(
  ctx: CallContext,
  env: ExecutorEnvironment,
  instructions: JsonValue[],
  version: number,
): Weighed | XcmErrorValue {
  const unit = env.config.unitWeight;
  const perInstruction: WeightValue[] = [];
  const calls: (RuntimeCallValue | null)[] = [];
  let total = ZERO;
  for (const instruction of instructions) {
    const [name, payload] = instructionOf(instruction);
    let w = unit;
    let decoded: RuntimeCallValue | null = null;
    if (name === 'transact' && isJsonObject(payload)) {
      const encoded = isJsonObject(payload.call) ? payload.call.encoded : undefined;
      // V4 weighs a Transact by its require_weight_at_most (the V5 fallback) and refunds the rest;
      // V5 by the call's own weight, the fallback only when the call cannot be decoded.
      const fallback = weightOf(payload.fallbackMaxWeight);
      try {
        decoded = ctx.runtime.decodeCall(fromHex(String(encoded), 'call'));
        w = add(w, version <= 4 && fallback ? fallback : ctx.runtime.callInfo(decoded).weight);
      } catch {
        if (!fallback) return xcmError('WeightNotComputable');
        w = add(w, fallback);
      }
    }
    perInstruction.push(w);
    calls.push(decoded);
    total = add(total, w);
  }
  return { total, perInstruction, calls };
}

const ASSET_INSTRUCTIONS = new Set([
  'withdrawAsset',
  'reserveAssetDeposited',
  'receiveTeleportedAsset',
  'claimAsset',
]);

/**
 * The barrier: TrailingSetTopicAsId<WithComputedOrigin<(AllowTopLevelPaidExecutionFrom<Everything>,
 * AllowExplicitUnpaidExecutionFrom<unpaidFrom>), _, 8>>. Returns the error or null.
 */
function barrier(
  origin: LocationJson,
  instructions: JsonValue[],
  weight: WeightValue,
  config: XcmChainConfig,
): string | null {
  let end = instructions.length;
  while (end > 0 && instructionOf(instructions[end - 1]!)[0] === 'setTopic') end--;
  let i = 0;
  let computed: LocationJson | null = origin;
  // WithComputedOrigin: leading origin changes, at most 8.
  while (i < end && i < 8 && instructionOf(instructions[i]!)[0] === 'descendOrigin') {
    const junctions = junctionsPayload(instructionOf(instructions[i]!)[1]);
    computed = junctions && computed ? descend(computed, junctions) : null;
    if (!computed) return 'origin cannot be computed';
    i++;
  }
  const [first, firstPayload] = i < end ? instructionOf(instructions[i]!) : ['', null];
  if (first === 'unpaidExecution') {
    if (!config.unpaidFrom.some((l) => isSameLocation(l, computed))) return 'origin may not execute unpaid';
    const limit = isJsonObject(firstPayload) ? weightLimitOf(firstPayload.weightLimit) : undefined;
    if (limit === undefined) return 'malformed UnpaidExecution';
    if (limit !== null && !fits(weight, limit))
      return 'UnpaidExecution weight limit below the message weight';
    return null;
  }
  if (!ASSET_INSTRUCTIONS.has(first)) return 'not paid: first instruction must bring assets';
  i++;
  while (i < end && instructionOf(instructions[i]!)[0] === 'clearOrigin') i++;
  const [buy, buyPayload] = i < end ? instructionOf(instructions[i]!) : ['', null];
  if (buy !== 'buyExecution' || !isJsonObject(buyPayload)) return 'not paid: BuyExecution expected';
  const limit = weightLimitOf(buyPayload.weightLimit);
  if (limit === undefined) return 'malformed BuyExecution';
  if (limit !== null && !fits(weight, limit)) return 'BuyExecution weight limit below the message weight';
  return null;
}

function junctionsPayload(payload: JsonValue): JsonValue[] | null {
  if (payload === 'Here') return [];
  const parsed = parseLocation({ parents: 0, interior: payload });
  return parsed ? parsed.junctions : null;
}

/** Runs one message. */
export function executeXcm(
  ctx: CallContext,
  env: ExecutorEnvironment,
  p: ExecuteParameters,
): ExecutionOutcome {
  const { config } = env;
  const trailingTopic = (() => {
    const last = p.instructions[p.instructions.length - 1];
    if (last === undefined) return null;
    const [name, payload] = instructionOf(last);
    return name === 'setTopic' && typeof payload === 'string' ? (payload as Hex) : null;
  })();
  if (p.instructions.length > config.maxInstructions)
    return { kind: 'error', id: p.hash, error: xcmError('WeightNotComputable'), weight: ZERO };
  const weighed = weigh(ctx, env, p.instructions, p.version);
  if ('name' in weighed) return { kind: 'error', id: p.hash, error: weighed, weight: ZERO };
  // The message queue sets an overweight message aside before the barrier: its id is the hash.
  if (!fits(weighed.total, config.maxMessageWeight))
    return { kind: 'overweight', id: p.hash, weight: weighed.total };
  const refused = barrier(p.origin, p.instructions, weighed.total, config);
  // The barrier refuses before TrailingSetTopicAsId's id is taken: the id stays the hash.
  if (refused) return { kind: 'error', id: p.hash, error: xcmError('Barrier'), weight: ZERO };
  // Past the barrier the message's id is its trailing topic (TrailingSetTopicAsId), whatever happens.
  const id = trailingTopic ?? p.hash;

  const state = {
    origin: p.origin as LocationJson | null,
    topic: null as Hex | null,
    holding: new Map<string, HoldingAsset>() as Holding,
    /** Fees paid by BuyExecution: asset, amount, and the weight bought. */
    paid: null as { id: LocationJson; amount: bigint } | null,
    surplus: ZERO,
    transactStatus: null as { ok: true } | { ok: false; error: DispatchErrorValue } | null,
  };
  let used = ZERO;
  let failure: { index: number; error: XcmErrorValue; transactFailure?: TransactFailure } | null = null;

  for (let index = 0; index < p.instructions.length; index++) {
    used = add(used, weighed.perInstruction[index]!);
    const result = step(ctx, env, p, state, index, weighed, id);
    if (result) {
      failure = { index, ...result };
      break;
    }
  }
  // Instructions that did not run do not count; refunded weight neither.
  const weightUsed = sub(used, state.surplus);
  const trapped = [...state.holding.values()].filter((a) => a.amount > 0n);
  if (failure) {
    return {
      kind: 'incomplete',
      id,
      weightUsed,
      index: failure.index,
      error: failure.error,
      ...(failure.transactFailure ? { transactFailure: failure.transactFailure } : {}),
      trapped,
    };
  }
  return { kind: 'complete', id, weightUsed, trapped };
}

type State = {
  origin: LocationJson | null;
  topic: Hex | null;
  holding: Holding;
  paid: { id: LocationJson; amount: bigint } | null;
  surplus: WeightValue;
  transactStatus: { ok: true } | { ok: false; error: DispatchErrorValue } | null;
};

type StepFailure = { error: XcmErrorValue; transactFailure?: TransactFailure } | null;

function step(
  ctx: CallContext,
  env: ExecutorEnvironment,
  p: ExecuteParameters,
  state: State,
  index: number,
  weighed: Weighed,
  messageId: Hex,
): StepFailure {
  const { config, assets } = env;
  const [name, payload] = instructionOf(p.instructions[index]!);
  const fail = (error: string, value?: JsonValue): StepFailure => ({ error: xcmError(error, value) });
  switch (name) {
    case 'withdrawAsset': {
      if (!state.origin) return fail('BadOrigin');
      if (!Array.isArray(payload)) return fail('AssetNotFound');
      for (const raw of payload) {
        const asset = fungibleOf(raw);
        if (!asset) return fail('AssetNotFound');
        const error = assets.withdraw(ctx, asset, state.origin);
        if (error) return fail(error);
        holdingAdd(state.holding, asset);
      }
      return null;
    }
    case 'reserveAssetDeposited': {
      if (!state.origin) return fail('BadOrigin');
      if (!Array.isArray(payload)) return fail('AssetNotFound');
      for (const raw of payload) {
        const asset = fungibleOf(raw);
        if (!asset) return fail('AssetNotFound');
        // NativeAsset: a chain is the reserve of the assets it names by its own location.
        if (!isSameLocation(asset.id, state.origin)) return fail('UntrustedReserveLocation');
        holdingAdd(state.holding, asset);
      }
      return null;
    }
    case 'buyExecution': {
      if (!isJsonObject(payload)) return fail('NotHoldingFees');
      const fees = fungibleOf(payload.fees);
      if (!fees) return fail('NotHoldingFees');
      const held = state.holding.get(assetKey(fees.id));
      if (!held || held.amount === 0n) return fail('NotHoldingFees');
      if (!assets.isNative(fees.id)) return fail('TooExpensive');
      const cost = env.weightToFee(ctx, weighed.total);
      const offered = minOf(fees.amount, held.amount);
      if (cost > offered) return fail('TooExpensive');
      held.amount -= cost;
      state.paid = { id: fees.id, amount: (state.paid?.amount ?? 0n) + cost };
      return null;
    }
    case 'refundSurplus': {
      // The weight not used so far (a Transact lighter than announced) is paid back.
      if (state.paid && (state.surplus.refTime > 0n || state.surplus.proofSize > 0n)) {
        const refund = env.weightToFee(ctx, state.surplus);
        const amount = minOf(refund, state.paid.amount);
        state.paid.amount -= amount;
        holdingAdd(state.holding, { id: state.paid.id, amount });
      }
      return null;
    }
    case 'depositAsset': {
      if (!isJsonObject(payload)) return fail('AssetNotFound');
      const beneficiary = payload.beneficiary;
      if (!parseLocation(beneficiary)) return fail('InvalidLocation');
      const taken = takeFiltered(state.holding, payload.assets);
      if (taken === null) return fail('AssetNotFound');
      for (const asset of taken) {
        const error = assets.deposit(ctx, asset, beneficiary as LocationJson);
        if (error) return fail(error);
      }
      return null;
    }
    case 'transact': {
      if (!state.origin) return fail('BadOrigin');
      if (!isJsonObject(payload)) return fail('FailedToDecode');
      const call = weighed.calls[index];
      if (!call) return fail('FailedToDecode');
      const callWeight = ctx.runtime.callInfo(call).weight;
      if (p.version <= 4) {
        // V4's require_weight_at_most (now the fallback) must cover the call; the rest is surplus.
        const required = weightOf(payload.fallbackMaxWeight);
        if (required && !fits(callWeight, required)) return fail('MaxWeightInvalid');
        if (required) state.surplus = add(state.surplus, sub(required, callWeight));
      }
      const kind = String(payload.originKind ?? '') as OriginKindName;
      const dispatchOrigin = convertOrigin(kind, state.origin, config);
      if (!dispatchOrigin) return fail('BadOrigin');
      let outcome: ReturnType<CallContext['dispatch']>;
      try {
        outcome = env.withMessage(ctx, { id: messageId, origin: state.origin }, () =>
          ctx.dispatch(dispatchOrigin, call),
        );
      } catch {
        // A bug in pallet code: the message fails, the chain goes on.
        return { error: xcmError('ExpectationFalse'), transactFailure: { index, error: { tag: 'Other' } } };
      }
      if (outcome.ok) {
        state.transactStatus = { ok: true };
        return null;
      }
      state.transactStatus = { ok: false, error: outcome.error };
      if (config.strictTransact)
        return { error: xcmError('ExpectationFalse'), transactFailure: { index, error: outcome.error } };
      return null;
    }
    case 'expectTransactStatus': {
      const wantsSuccess = payload === 'Success' || (isJsonObject(payload) && 'success' in payload);
      const ok = state.transactStatus === null || state.transactStatus.ok;
      return wantsSuccess === ok ? null : fail('ExpectationFalse');
    }
    case 'clearTransactStatus':
      state.transactStatus = null;
      return null;
    case 'descendOrigin': {
      if (!state.origin) return fail('BadOrigin');
      const junctions = junctionsPayload(payload);
      if (!junctions) return fail('InvalidLocation');
      const next = descend(state.origin, junctions);
      if (!next) return fail('LocationFull');
      state.origin = next;
      return null;
    }
    case 'clearOrigin':
      state.origin = null;
      return null;
    case 'unpaidExecution': {
      const check = isJsonObject(payload) ? payload.checkOrigin : null;
      if (check !== null && check !== undefined && !isSameLocation(check, state.origin))
        return fail('BadOrigin');
      return null;
    }
    case 'setTopic':
      if (typeof payload !== 'string') return fail('Unimplemented');
      state.topic = payload as Hex;
      return null;
    case 'clearTopic':
      state.topic = null;
      return null;
    default:
      return fail('Unimplemented');
  }
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function holdingAdd(holding: Holding, asset: HoldingAsset): void {
  const key = assetKey(asset.id);
  const held = holding.get(key);
  if (held) held.amount += asset.amount;
  else holding.set(key, { id: asset.id, amount: asset.amount });
}

/** Takes the assets an `AssetFilter` selects out of holding (Definite, or Wild All/AllOf/AllCounted/AllOfCounted). */
function takeFiltered(holding: Holding, filter: JsonValue): HoldingAsset[] | null {
  if (!isJsonObject(filter)) return null;
  const ordered = [...holding.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const take = (key: string, amount?: bigint): HoldingAsset | null => {
    const held = holding.get(key);
    if (!held || held.amount === 0n) return null;
    const n = amount === undefined || amount > held.amount ? held.amount : amount;
    held.amount -= n;
    if (held.amount === 0n) holding.delete(key);
    return { id: held.id, amount: n };
  };
  const out: HoldingAsset[] = [];
  if (Array.isArray(filter.definite)) {
    for (const raw of filter.definite) {
      const asset = fungibleOf(raw);
      if (!asset) return null;
      const got = take(assetKey(asset.id), asset.amount);
      if (got) out.push(got);
    }
    return out;
  }
  const wild = filter.wild;
  let limit = Number.POSITIVE_INFINITY;
  let only: string | null = null;
  if (wild === 'All' || (isJsonObject(wild) && 'all' in wild)) {
    // every asset
  } else if (isJsonObject(wild) && 'allCounted' in wild) {
    limit = Number(bigOf(wild.allCounted) ?? 0n);
  } else if (isJsonObject(wild) && isJsonObject(wild.allOf)) {
    if (!parseLocation(wild.allOf.id)) return null;
    only = assetKey(wild.allOf.id as LocationJson);
  } else if (isJsonObject(wild) && isJsonObject(wild.allOfCounted)) {
    if (!parseLocation(wild.allOfCounted.id)) return null;
    only = assetKey(wild.allOfCounted.id as LocationJson);
    limit = Number(bigOf(wild.allOfCounted.count) ?? 0n);
  } else return null;
  for (const [key] of ordered) {
    if (out.length >= limit) break;
    if (only !== null && key !== only) continue;
    const got = take(key);
    if (got) out.push(got);
  }
  return out;
}
