import type { ScaleCodec } from '../scale/codec.js';
import type { StorageOverlay } from '../storage/overlay.js';
import type { DispatchOrigin } from './origin.js';
import type { RuntimeVersion } from './version.js';
import type { DispatchErrorValue, DispatchInfoValue, WeightValue } from './types.js';

/** A value of the runtime's outer call enum: `{ tag: pallet, value: { tag: call_name, value: args } }`. */
export type RuntimeCallValue = { tag: string; value: { tag: string; value?: Record<string, unknown> } };
/** A value of the runtime's outer event enum: `{ tag: pallet, value: { tag: Event, value?: fields } }`. */
export type RuntimeEventValue = { tag: string; value: { tag: string; value?: unknown } };

export type DispatchOutcome =
  | { ok: true; info: DispatchInfoValue }
  | { ok: false; error: DispatchErrorValue; info: DispatchInfoValue };

export type BlockInfo = {
  /** The block being built, or (for runtime API calls) the block whose state is read. */
  readonly number: number;
  readonly parentHash: Uint8Array;
  readonly genesisHash: Uint8Array;
  /** Set for runtime API calls: the hash of the block `number`. */
  readonly hash?: Uint8Array;
};

/** The part of the runtime pallet code may use (dispatching nested calls, call weights). */
export interface RuntimeHandle {
  readonly specName: string;
  readonly version: RuntimeVersion;
  dispatch(env: Env, origin: DispatchOrigin, call: RuntimeCallValue): DispatchOutcome;
  callInfo(call: RuntimeCallValue): DispatchInfoValue;
  decodeCall(bytes: Uint8Array): RuntimeCallValue;
  encodeCall(call: RuntimeCallValue): Uint8Array;
  palletIndex(name: string): number;
  /** A pallet constant's value (FRAME's `T::Constant::get()`). */
  constant(pallet: string, name: string): unknown;
}

/** What pallet code sees while a block is built, a runtime API runs, or genesis is made. */
export interface Env {
  readonly codec: ScaleCodec;
  readonly storage: StorageOverlay;
  readonly block: BlockInfo;
  readonly runtime: RuntimeHandle;
  /** Data the block producer handed in (timestamp, and whatever a composed chain adds: XCM messages...). */
  readonly inherentData: ReadonlyMap<string, unknown>;
  depositEvent(event: RuntimeEventValue, topics?: Uint8Array[]): void;
}

/** The environment of one dispatched call. */
export interface CallContext extends Env {
  readonly origin: DispatchOrigin;
  /** Dispatches a nested call (sudo, XCM Transact) in its own transactional layer. */
  dispatch(origin: DispatchOrigin, call: RuntimeCallValue): DispatchOutcome;
}

export const ZERO_WEIGHT: WeightValue = { refTime: 0n, proofSize: 0n };
