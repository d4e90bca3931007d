import { Metadata, TypeRegistry } from '@polkadot/types';
import { buildMetadata } from '../metadata/metadata.js';
import { PortableRegistryBuilder } from '../metadata/portable-registry.js';
import { ScaleCodec } from '../scale/codec.js';
import { type AnyTy, t } from '../scale/ty.js';
import type { CallContext, DispatchOutcome, Env, RuntimeCallValue, RuntimeHandle } from './context.js';
import { DispatchFailure } from './errors.js';
import { executiveApis } from './executive.js';
import type { DispatchOrigin } from './origin.js';
import type { ComposedCall, ConstantValueFn, Pallet, RuntimeApi, RuntimeApiMethod } from './pallet.js';
import type { RuntimeRefs } from './refs.js';
import { type RuntimeVersion, type RuntimeVersionSpec, apiId, runtimeVersionValue } from './version.js';
import {
  AccountId,
  type DispatchErrorValue,
  Header,
  type DispatchInfoValue,
  MultiAddress,
  MultiSignature,
  RuntimeVersionTy,
  SignedExtensions,
} from './types.js';

export type ComposeRuntimeParameters = {
  /** The runtime crate name; ends in `_runtime` (polkadot-js names `*_runtime::RuntimeCall` "RuntimeCall"). */
  crate: string;
  version: RuntimeVersionSpec;
  refs: RuntimeRefs;
  pallets: { index: number; pallet: Pallet }[];
  /** Runtime APIs besides the pallets' own (state_call `<Api>_<method>`). */
  apis?: RuntimeApi[];
  /** Called with exceptions from pallet code that are not dispatch errors (bugs); default: rethrow. */
  onUnexpectedError?: (error: unknown, call: RuntimeCallValue) => void;
};

export type ComposedPallet = { index: number; pallet: Pallet };

/**
 * A runtime: pallets composed into the outer call/event/error enums, the metadata generated from
 * them, and call dispatch. Block execution lives in executive.ts.
 */
export class Runtime implements RuntimeHandle {
  readonly crate: string;
  readonly pallets: ComposedPallet[];
  readonly callTy: AnyTy;
  readonly eventTy: AnyTy;
  readonly errorTy: AnyTy;
  readonly extraTy: AnyTy;
  readonly uncheckedExtrinsicTy: AnyTy;
  readonly codec: ScaleCodec;
  readonly metadata: { v14: Uint8Array; v15: Uint8Array };
  readonly version: RuntimeVersion;
  readonly apis: RuntimeApi[];
  readonly #calls = new Map<string, { pallet: ComposedPallet; call: ComposedCall }>();
  readonly #byName = new Map<string, ComposedPallet>();
  readonly #apiMethods = new Map<string, RuntimeApiMethod>();
  /**
   * What happens to an exception from pallet code that is not a DispatchFailure (a bug): the
   * dispatch fails with `DispatchError::Other` and this is told. The chain sets it to its logger.
   */
  onUnexpectedError: (error: unknown, call: RuntimeCallValue) => void;

  readonly refs: RuntimeRefs;

  constructor(parameters: ComposeRuntimeParameters) {
    const { crate, refs } = parameters;
    this.crate = crate;
    this.refs = refs;
    this.onUnexpectedError = parameters.onUnexpectedError ?? (() => {});
    this.pallets = [...parameters.pallets].sort((a, b) => a.index - b.index);
    const seen = new Set<number>();
    for (const p of this.pallets) {
      if (seen.has(p.index)) throw new Error(`two pallets at index ${p.index}`);
      if (this.#byName.has(p.pallet.name)) throw new Error(`two pallets named ${p.pallet.name}`);
      seen.add(p.index);
      this.#byName.set(p.pallet.name, p);
      for (const c of p.pallet.calls) this.#calls.set(`${p.pallet.name}.${c.name}`, { pallet: p, call: c });
    }

    const outer = (kind: 'Call' | 'Event' | 'Error', part: (p: Pallet) => AnyTy | null) =>
      t.enum(
        [crate, `Runtime${kind}`],
        Object.fromEntries(
          this.pallets
            .filter((p) => part(p.pallet))
            .map((p) => [p.pallet.name, { index: p.index, fields: part(p.pallet)! }]),
        ),
      );
    this.callTy = outer('Call', (p) => p.callTy);
    this.eventTy = outer('Event', (p) => p.events?.ty ?? null);
    this.errorTy = outer('Error', (p) => p.errors?.ty ?? null);
    refs.bind(this.callTy, this.eventTy);

    const extensions = Object.entries(SignedExtensions).map(([identifier, e]) => ({
      identifier,
      type: e.type as AnyTy,
      additionalSigned: e.additionalSigned as AnyTy,
    }));
    this.extraTy = t.tuple(...extensions.map((e) => e.type));
    this.uncheckedExtrinsicTy = t.newtype(
      'sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic',
      t.bytes,
      undefined,
      {
        params: [
          { name: 'Address', type: MultiAddress },
          { name: 'Call', type: this.callTy },
          { name: 'Signature', type: MultiSignature },
          { name: 'Extra', type: this.extraTy },
        ],
      },
    );
    const runtimeTy = t.marker([crate, 'Runtime']);

    this.apis = [
      ...coreApis(this),
      ...executiveApis(this),
      ...this.pallets.flatMap((p) => p.pallet.runtimeApis),
      ...(parameters.apis ?? []),
    ];
    for (const api of this.apis) {
      for (const [name, method] of Object.entries(api.methods))
        this.#apiMethods.set(`${api.name}_${name}`, method);
    }
    this.version = {
      ...parameters.version,
      apis: this.apis.map((api) => [apiId(api.name), api.version]),
    };

    const types = new PortableRegistryBuilder();
    // AccountId first, as in real runtimes (some tools look for it at id 0); Header and the
    // event record are what the node itself encodes.
    types.idOf(AccountId);
    types.idOf(Header);
    this.metadata = buildMetadata({
      types,
      pallets: this.pallets,
      outer: { call: this.callTy, event: this.eventTy, error: this.errorTy },
      runtimeTy,
      extrinsic: {
        uncheckedTy: this.uncheckedExtrinsicTy,
        addressTy: MultiAddress,
        callTy: this.callTy,
        signatureTy: MultiSignature,
        extraTy: this.extraTy,
        signedExtensions: extensions,
      },
      apis: this.apis,
      constantValue: (pallet, name) => this.constant(pallet, name),
    });
    types.freeze();
    const registry = new TypeRegistry();
    registry.setMetadata(new Metadata(registry, this.metadata.v15));
    this.codec = new ScaleCodec(registry, types);
    this.codec.setOuterEnums(this.callTy, this.eventTy);
  }

  get specName(): string {
    return this.version.specName;
  }

  pallet(name: string): ComposedPallet {
    const p = this.#byName.get(name);
    if (!p) throw new Error(`no pallet ${name} in ${this.crate}`);
    return p;
  }

  hasPallet(name: string): boolean {
    return this.#byName.has(name);
  }

  palletIndex(name: string): number {
    return this.pallet(name).index;
  }

  constant(pallet: string, name: string): unknown {
    const c = this.pallet(pallet).pallet.constants.find((x) => x.name === name);
    if (!c) throw new Error(`${pallet} has no constant ${name}`);
    return typeof c.value === 'function' ? (c.value as ConstantValueFn)(this) : c.value;
  }

  apiMethod(name: string): RuntimeApiMethod | undefined {
    return this.#apiMethods.get(name);
  }

  encodeCall(call: RuntimeCallValue): Uint8Array {
    return this.codec.encode(this.callTy, call);
  }

  decodeCall(bytes: Uint8Array): RuntimeCallValue {
    return this.codec.decode(this.callTy, bytes) as RuntimeCallValue;
  }

  /** Builds a call value from pallet name, call name (camelCase or snake_case) and arguments. */
  call(pallet: string, name: string, args: Record<string, unknown> = {}): RuntimeCallValue {
    const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    if (!this.#calls.has(`${pallet}.${snake}`)) throw new Error(`no call ${pallet}.${snake}`);
    return { tag: pallet, value: { tag: snake, value: args } };
  }

  #entry(call: RuntimeCallValue) {
    const entry = this.#calls.get(`${call.tag}.${call.value.tag}`);
    if (!entry) throw new Error(`no call ${call.tag}.${call.value.tag}`);
    return entry;
  }

  callInfo(call: RuntimeCallValue): DispatchInfoValue {
    const { spec } = this.#entry(call).call;
    const weight =
      typeof spec.weight === 'function' ? spec.weight(call.value.value ?? {}, this) : spec.weight;
    return {
      weight,
      class: { tag: spec.class ?? 'Normal' },
      paysFee: { tag: spec.paysFee === false ? 'No' : 'Yes' },
    };
  }

  /** Dispatches a call in its own transactional storage layer (FRAME's `#[transactional]`). */
  dispatch(env: Env, origin: DispatchOrigin, call: RuntimeCallValue): DispatchOutcome {
    const { call: entry } = this.#entry(call);
    const info = this.callInfo(call);
    const ctx: CallContext = {
      codec: env.codec,
      storage: env.storage,
      block: env.block,
      runtime: env.runtime,
      inherentData: env.inherentData,
      depositEvent: (event, topics) => env.depositEvent(event, topics),
      origin,
      dispatch: (nestedOrigin, nestedCall) => this.dispatch(env, nestedOrigin, nestedCall),
    };
    try {
      env.storage.transactional(() => entry.spec.handler(ctx, (call.value.value ?? {}) as never));
      return { ok: true, info };
    } catch (error) {
      if (!(error instanceof DispatchFailure)) {
        this.onUnexpectedError(error, call);
        return { ok: false, error: { tag: 'Other' }, info };
      }
      return { ok: false, error: this.dispatchError(error), info };
    }
  }

  /** The `sp_runtime::DispatchError` value of a failure (module errors get their indices here). */
  dispatchError(failure: DispatchFailure): DispatchErrorValue {
    const e = failure.error;
    if (e.tag !== 'ModuleByName') return e;
    const { index, pallet } = this.pallet(e.pallet);
    const errorIndex = pallet.errors?.indexOf(e.variant) ?? -1;
    if (errorIndex < 0) throw new Error(`${e.pallet} has no error ${e.variant}`);
    return { tag: 'Module', value: { index, error: Uint8Array.of(errorIndex, 0, 0, 0) } };
  }

  /** The pallet and error names of a module error, as polkadot-js' `findMetaError` gives them. */
  moduleErrorName(error: DispatchErrorValue): { pallet: string; name: string } | null {
    if (error.tag !== 'Module') return null;
    const { index, error: bytes } = (error as { value: { index: number; error: Uint8Array } }).value;
    const p = this.pallets.find((x) => x.index === index);
    const name = p?.pallet.errors?.names[bytes[0]!];
    return p && name ? { pallet: p.pallet.name, name } : null;
  }
}

function coreApis(runtime: Runtime): RuntimeApi[] {
  const OpaqueMetadata = t.newtype('sp_core::OpaqueMetadata', t.bytes, 'Vec<u8>');
  return [
    {
      name: 'Core',
      version: 5,
      docs: ['The `Core` runtime api that every Substrate runtime needs to implement.'],
      methods: {
        version: {
          inputs: [],
          output: RuntimeVersionTy,
          docs: ['Returns the version of the runtime.'],
          handler: () => runtimeVersionValue(runtime.version),
        },
      },
    },
    {
      name: 'Metadata',
      version: 2,
      docs: ['The `Metadata` api trait that returns metadata for the runtime.'],
      methods: {
        metadata: {
          inputs: [],
          output: OpaqueMetadata,
          docs: ['Returns the metadata of a runtime.'],
          handler: () => runtime.metadata.v14,
        },
        metadata_at_version: {
          inputs: [{ name: 'version', type: t.u32 }],
          output: t.option(OpaqueMetadata),
          docs: ['Returns the metadata at a given version.'],
          handler: (_env, [version]) =>
            version === 14 ? runtime.metadata.v14 : version === 15 ? runtime.metadata.v15 : null,
        },
        metadata_versions: {
          inputs: [],
          output: t.vec(t.u32),
          docs: ['Returns the supported metadata versions.'],
          handler: () => [14, 15],
        },
      },
    },
  ];
}
