import { u8aToHex } from '@polkadot/util';
import { concatBytes } from '../../../base/bytes.js';
import { type AnyTy, type Infer, type Ty, snakeCase, t } from '../scale/ty.js';
import { type StorageHasher, hashKey, hasherPrefixLength, storagePrefix } from '../storage/keys.js';
import { hexBytes } from '../storage/state-db.js';
import type { CallContext, Env, RuntimeHandle } from './context.js';
import { DispatchFailure } from './errors.js';
import type { WeightValue } from './types.js';

/**
 * How a pallet is written: storage items, events, errors, calls and constants are declared with
 * `Ty` types; the runtime composes them into the outer enums and the metadata, and dispatches calls
 * to the handlers. A pallet is plain data plus functions, so a chain is a list of pallets.
 */

// ---------------------------------------------------------------------------------------------
// Storage

type StorageEnv = Pick<Env, 'codec' | 'storage'>;

export type StorageItemMetadata = {
  name: string;
  modifier: 'Optional' | 'Default';
  type: { kind: 'plain'; value: AnyTy } | { kind: 'map'; hashers: StorageHasher[]; key: AnyTy; value: AnyTy };
  /** SCALE of the default value, or null for an OptionQuery item (fallback 0x00). */
  fallback: (env: Pick<Env, 'codec'>) => Uint8Array;
  docs: string[];
};

abstract class StorageItem {
  pallet = '';
  name = '';
  /** Names the item (its key is twox128(pallet) ‖ twox128(name)); runtimes may share one item. */
  bind(pallet: string, name: string): void {
    if (this.pallet && (this.pallet !== pallet || this.name !== name)) {
      throw new Error(`storage item ${this.pallet}.${this.name} cannot also be ${pallet}.${name}`);
    }
    this.pallet = pallet;
    this.name = name;
  }
  get prefix(): Uint8Array {
    return storagePrefix(this.pallet, this.name);
  }
  get prefixHex(): string {
    return u8aToHex(this.prefix);
  }
  abstract metadata(): StorageItemMetadata;
}

export class StorageValue<V, R> extends StorageItem {
  constructor(
    readonly value: Ty<V>,
    readonly defaultValue: V | undefined,
    readonly docs: string[],
  ) {
    super();
  }
  key(): string {
    return this.prefixHex;
  }
  get(env: StorageEnv): R {
    const raw = env.storage.get(this.key());
    if (raw === null) return (this.defaultValue === undefined ? null : this.defaultValue) as R;
    return env.codec.decode(this.value, raw) as unknown as R;
  }
  exists(env: StorageEnv): boolean {
    return env.storage.get(this.key()) !== null;
  }
  set(env: StorageEnv, value: V): void {
    env.storage.set(this.key(), env.codec.encode(this.value, value));
  }
  kill(env: StorageEnv): void {
    env.storage.set(this.key(), null);
  }
  mutate(env: StorageEnv, fn: (current: R) => V): V {
    const next = fn(this.get(env));
    this.set(env, next);
    return next;
  }
  metadata(): StorageItemMetadata {
    return {
      name: this.name,
      modifier: this.defaultValue === undefined ? 'Optional' : 'Default',
      type: { kind: 'plain', value: this.value },
      fallback: (env) =>
        this.defaultValue === undefined ? Uint8Array.of(0) : env.codec.encode(this.value, this.defaultValue),
      docs: this.docs,
    };
  }
}

/** A map with one or more key parts (FRAME's StorageMap / StorageDoubleMap / StorageNMap). */
export class StorageMap<K extends unknown[], V, R> extends StorageItem {
  constructor(
    readonly hashers: StorageHasher[],
    readonly keyTys: { [I in keyof K]: Ty<K[I]> },
    readonly value: Ty<V>,
    readonly defaultValue: V | undefined,
    readonly docs: string[],
  ) {
    super();
    if (hashers.length !== keyTys.length) throw new Error('storage map: one hasher per key part');
  }
  /** The raw storage key of an entry, or of a prefix when fewer key parts are given. */
  key(env: Pick<Env, 'codec'>, ...parts: Partial<K>): string {
    const pieces: Uint8Array[] = [this.prefix];
    parts.forEach((part, i) => {
      pieces.push(hashKey(this.hashers[i]!, env.codec.encode(this.keyTys[i] as AnyTy, part)));
    });
    return u8aToHex(concatBytes(...pieces));
  }
  get(env: StorageEnv, ...key: K): R {
    const raw = env.storage.get(this.key(env, ...key));
    if (raw === null) return (this.defaultValue === undefined ? null : this.defaultValue) as R;
    return env.codec.decode(this.value, raw) as unknown as R;
  }
  contains(env: StorageEnv, ...key: K): boolean {
    return env.storage.get(this.key(env, ...key)) !== null;
  }
  set(env: StorageEnv, ...args: [...K, V]): void {
    const value = args[args.length - 1] as V;
    const key = args.slice(0, -1) as K;
    env.storage.set(this.key(env, ...key), env.codec.encode(this.value, value));
  }
  remove(env: StorageEnv, ...key: K): void {
    env.storage.set(this.key(env, ...key), null);
  }
  mutate(env: StorageEnv, key: K, fn: (current: R) => V | null): V | null {
    const next = fn(this.get(env, ...key));
    if (next === null) this.remove(env, ...key);
    else this.set(env, ...([...key, next] as unknown as [...K, V]));
    return next;
  }
  /**
   * Entries under a prefix of key parts, with their keys decoded (every hasher after the prefix
   * must be a concat hasher). `limit` bounds the work; callers that need all pass Infinity.
   */
  entries(
    env: StorageEnv,
    prefix: Partial<K> = [] as unknown as Partial<K>,
    limit = Number.POSITIVE_INFINITY,
  ): [K, V][] {
    const start = this.key(env, ...prefix);
    const out: [K, V][] = [];
    let after: string | undefined;
    while (out.length < limit) {
      const want = Math.min(512, limit - out.length);
      const page = env.storage.keys(start, want, after);
      for (const raw of page) {
        const value = env.storage.get(raw);
        if (value === null) continue;
        out.push([this.decodeKey(env, raw), env.codec.decode(this.value, value)]);
      }
      if (page.length < want) break;
      after = page[page.length - 1];
    }
    return out;
  }
  /** Removes every entry under a prefix of key parts. */
  clear(env: StorageEnv, prefix: Partial<K> = [] as unknown as Partial<K>): number {
    const start = this.key(env, ...prefix);
    let removed = 0;
    for (;;) {
      const page = env.storage.keys(start, 512);
      if (page.length === 0) return removed;
      for (const raw of page) env.storage.set(raw, null);
      removed += page.length;
    }
  }
  decodeKey(env: Pick<Env, 'codec'>, raw: string): K {
    const bytes = hexBytes(raw);
    let offset = 32;
    const parts: unknown[] = [];
    this.hashers.forEach((hasher, i) => {
      const skip = hasherPrefixLength(hasher);
      if (skip === null)
        throw new Error(`${this.pallet}.${this.name}: key part ${i} uses ${hasher}, not reversible`);
      offset += skip;
      const { value, length } = env.codec.decodePrefix(this.keyTys[i] as AnyTy, bytes.subarray(offset));
      parts.push(value);
      offset += length;
    });
    return parts as K;
  }
  metadata(): StorageItemMetadata {
    const key = this.keyTys.length === 1 ? (this.keyTys[0] as AnyTy) : t.tuple(...(this.keyTys as AnyTy[]));
    return {
      name: this.name,
      modifier: this.defaultValue === undefined ? 'Optional' : 'Default',
      type: { kind: 'map', hashers: this.hashers, key, value: this.value },
      fallback: (env) =>
        this.defaultValue === undefined ? Uint8Array.of(0) : env.codec.encode(this.value, this.defaultValue),
      docs: this.docs,
    };
  }
}

export function storageValue<V>(spec: { value: Ty<V>; default: V; docs?: string[] }): StorageValue<V, V>;
export function storageValue<V>(spec: { value: Ty<V>; docs?: string[] }): StorageValue<V, V | null>;
export function storageValue<V>(spec: {
  value: Ty<V>;
  default?: V;
  docs?: string[];
}): StorageValue<V, unknown> {
  return new StorageValue(spec.value, spec.default, spec.docs ?? []);
}

export function storageMap<K, V>(spec: {
  hasher: StorageHasher;
  key: Ty<K>;
  value: Ty<V>;
  default: V;
  docs?: string[];
}): StorageMap<[K], V, V>;
export function storageMap<K, V>(spec: {
  hasher: StorageHasher;
  key: Ty<K>;
  value: Ty<V>;
  docs?: string[];
}): StorageMap<[K], V, V | null>;
export function storageMap<K, V>(spec: {
  hasher: StorageHasher;
  key: Ty<K>;
  value: Ty<V>;
  default?: V;
  docs?: string[];
}): StorageMap<[K], V, unknown> {
  return new StorageMap<[K], V, unknown>(
    [spec.hasher],
    [spec.key],
    spec.value,
    spec.default,
    spec.docs ?? [],
  );
}

export function storageDoubleMap<K1, K2, V>(spec: {
  hashers: [StorageHasher, StorageHasher];
  keys: [Ty<K1>, Ty<K2>];
  value: Ty<V>;
  docs?: string[];
}): StorageMap<[K1, K2], V, V | null> {
  return new StorageMap<[K1, K2], V, V | null>(
    spec.hashers,
    spec.keys,
    spec.value,
    undefined,
    spec.docs ?? [],
  );
}

// ---------------------------------------------------------------------------------------------
// Events and errors

type EventSpec = { index?: number; docs?: string[]; fields?: Record<string, AnyTy> };
type EventFields<S extends EventSpec> =
  S['fields'] extends Record<string, AnyTy> ? { [K in keyof S['fields']]: Infer<S['fields'][K]> } : undefined;

export class PalletEvents<E extends Record<string, EventSpec>> {
  readonly ty: AnyTy;
  constructor(
    readonly pallet: string,
    crate: string,
    readonly spec: E,
  ) {
    const variants: Record<string, { index?: number; docs?: string[]; fields?: Record<string, AnyTy> }> = {};
    for (const [name, s] of Object.entries(spec)) variants[name] = s;
    this.ty = t.enum([crate, 'pallet', 'Event'], variants, {
      params: [{ name: 'T' }],
      docs: ['The `Event` enum of this pallet'],
    });
  }
  /** Deposits `name` with its fields as an event of this pallet. */
  emit<K extends keyof E & string>(
    env: Env,
    name: K,
    ...fields: EventFields<E[K]> extends undefined ? [] : [EventFields<E[K]>]
  ): void {
    const value = fields[0];
    env.depositEvent({ tag: this.pallet, value: value === undefined ? { tag: name } : { tag: name, value } });
  }
}

export function defineEvents<const E extends Record<string, EventSpec>>(
  pallet: string,
  crate: string,
  spec: E,
): PalletEvents<E> {
  return new PalletEvents(pallet, crate, spec);
}

export class PalletErrors<N extends string> {
  readonly ty: AnyTy;
  readonly names: N[];
  constructor(
    readonly pallet: string,
    crate: string,
    spec: Record<N, string>,
  ) {
    this.names = Object.keys(spec) as N[];
    const variants: Record<string, { docs: string[] }> = {};
    for (const [name, docs] of Object.entries(spec)) variants[name] = { docs: [docs as string] };
    this.ty = t.enum([crate, 'pallet', 'Error'], variants, {
      params: [{ name: 'T' }],
      docs: ['The `Error` enum of this pallet.'],
    });
  }
  /** The failure to throw for this pallet's error `name`. */
  fail(name: N): DispatchFailure {
    return DispatchFailure.module(this.pallet, name);
  }
  /** Throws `name` unless `condition` holds. */
  ensure(condition: unknown, name: N): void {
    if (!condition) throw this.fail(name);
  }
  indexOf(name: string): number {
    return this.names.indexOf(name as N);
  }
}

export function defineErrors<const N extends string>(
  pallet: string,
  crate: string,
  spec: Record<N, string>,
): PalletErrors<N> {
  return new PalletErrors<N>(pallet, crate, spec);
}

// ---------------------------------------------------------------------------------------------
// Calls

export type DispatchClassName = 'Normal' | 'Operational' | 'Mandatory';
type Args<A extends Record<string, AnyTy>> = { [K in keyof A]: Infer<A[K]> };

export type CallSpec<A extends Record<string, AnyTy> = Record<string, AnyTy>> = {
  index?: number;
  args: A;
  /** Declared weight (a real pallet's benchmarked weight would go here). */
  weight: WeightValue | ((args: Args<A>, runtime: RuntimeHandle) => WeightValue);
  class?: DispatchClassName;
  paysFee?: boolean;
  docs?: string[];
  /** Rust type names shown in metadata (`Box<RuntimeCall>`, `T::AccountId`...). */
  typeNames?: Partial<Record<keyof A, string>>;
  handler(ctx: CallContext, args: Args<A>): void;
};

/** Declares a call; an identity function so TypeScript infers the handler's argument types. */
export function call<const A extends Record<string, AnyTy>>(spec: CallSpec<A>): CallSpec<A> {
  return spec;
}

export type ComposedCall = {
  /** snake_case, as in the metadata and the RuntimeCall value. */
  name: string;
  index: number;
  spec: CallSpec;
};

// ---------------------------------------------------------------------------------------------
// Runtime APIs (state_call)

export type RuntimeApiMethod = {
  inputs: { name: string; type: AnyTy }[];
  output: AnyTy;
  docs?: string[];
  /** Runs at the state of the requested block; inputs are decoded values in order. */
  handler(env: Env, inputs: unknown[]): unknown;
};
export type RuntimeApi = {
  /** e.g. `TransactionPaymentApi` (state_call method names are `<name>_<method>`). */
  name: string;
  version: number;
  docs?: string[];
  methods: Record<string, RuntimeApiMethod>;
};

// ---------------------------------------------------------------------------------------------
// Pallets

/** A constant; `value` may be a function of the composed runtime, evaluated when it is read. */
export type ConstantSpec = { type: AnyTy; value: unknown; docs?: string[] };
export type ConstantValueFn = (runtime: RuntimeHandle) => unknown;

export type PalletHooks = {
  /** Runs at the start of every block, before any extrinsic. */
  onInitialize?(env: Env): void;
  /** Runs after the last extrinsic of every block. */
  onFinalize?(env: Env): void;
  /** An inherent (unsigned, mandatory) call to put at the start of the block, if any. */
  inherent?(env: Env): { call: string; args: Record<string, unknown> } | null;
  /** Writes this pallet's genesis state. */
  genesis?(env: Env): void;
};

export type PalletSpec = {
  /** The pallet name in the runtime (and its storage prefix), e.g. `PhalaRegistry`. */
  name: string;
  /** The Rust crate, for type paths, e.g. `pallet_phala_registry`. */
  crate: string;
  docs?: string[];
  storage?: Record<string, StorageItem>;
  // biome-ignore lint/suspicious/noExplicitAny: each call has its own argument record
  calls?: Record<string, CallSpec<any>>;
  // biome-ignore lint/suspicious/noExplicitAny: the event record of this pallet
  events?: PalletEvents<any>;
  errors?: PalletErrors<string>;
  constants?: Record<string, ConstantSpec>;
  hooks?: PalletHooks;
  runtimeApis?: RuntimeApi[];
};

export type Pallet = {
  name: string;
  crate: string;
  docs: string[];
  storage: StorageItem[];
  calls: ComposedCall[];
  callTy: AnyTy | null;
  events: PalletEvents<Record<string, EventSpec>> | null;
  errors: PalletErrors<string> | null;
  constants: { name: string; type: AnyTy; value: unknown; docs: string[] }[];
  hooks: PalletHooks;
  runtimeApis: RuntimeApi[];
};

export function definePallet(spec: PalletSpec): Pallet {
  const storage: StorageItem[] = [];
  for (const [name, item] of Object.entries(spec.storage ?? {})) {
    item.bind(spec.name, name);
    storage.push(item);
  }
  let next = 0;
  const calls: ComposedCall[] = Object.entries(spec.calls ?? {}).map(([name, callSpec]) => {
    const index = callSpec.index ?? next;
    next = index + 1;
    return { name: snakeCase(name), index, spec: callSpec as CallSpec };
  });
  const callTy = calls.length
    ? t.enum(
        [spec.crate, 'pallet', 'Call'],
        Object.fromEntries(
          calls.map((c) => [
            c.name,
            {
              index: c.index,
              docs: c.spec.docs ?? [],
              fields: c.spec.args,
            },
          ]),
        ),
        {
          params: [{ name: 'T' }],
          docs: ['Contains a variant per dispatchable extrinsic that this pallet has.'],
        },
      )
    : null;
  // Type names for call arguments are attached to the fields after the enum is made.
  if (callTy && callTy.def.kind === 'variant') {
    for (const variant of callTy.def.variants) {
      const c = calls.find((x) => x.name === variant.name)!;
      const names = c.spec.typeNames as Record<string, string> | undefined;
      if (!names) continue;
      for (const field of variant.fields) {
        const camel = Object.keys(c.spec.args).find((k) => snakeCase(k) === field.name);
        if (camel && names[camel]) field.typeName = names[camel];
      }
    }
  }
  if (spec.events && spec.events.pallet !== spec.name)
    throw new Error(`${spec.name}: events belong to ${spec.events.pallet}`);
  if (spec.errors && spec.errors.pallet !== spec.name)
    throw new Error(`${spec.name}: errors belong to ${spec.errors.pallet}`);
  return {
    name: spec.name,
    crate: spec.crate,
    docs: spec.docs ?? [],
    storage,
    calls,
    callTy,
    events: spec.events ?? null,
    errors: spec.errors ?? null,
    constants: Object.entries(spec.constants ?? {}).map(([name, c]) => ({
      name,
      type: c.type,
      value: c.value,
      docs: c.docs ?? [],
    })),
    hooks: spec.hooks ?? {},
    runtimeApis: spec.runtimeApis ?? [],
  };
}

/** Helper for weights: `weight(10_000_000)` is ref time with a small proof size. */
export function weight(refTime: number | bigint, proofSize: number | bigint = 3_593n): WeightValue {
  return { refTime: BigInt(refTime), proofSize: BigInt(proofSize) };
}
