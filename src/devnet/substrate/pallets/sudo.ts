import type { CallContext, DispatchOutcome, RuntimeCallValue, RuntimeHandle } from '../runtime/context.js';
import { DispatchFailure } from '../runtime/errors.js';
import {
  type Pallet,
  call,
  defineErrors,
  defineEvents,
  definePallet,
  storageValue,
  weight,
} from '../runtime/pallet.js';
import type { RuntimeRefs } from '../runtime/refs.js';
import { AccountId, DispatchResult, MultiAddress, Weight } from '../runtime/types.js';
import { t } from '../scale/ty.js';
import { lookup } from './balances.js';

export const SUDO = 'Sudo';
const CRATE = 'pallet_sudo';

export const sudoStorage = {
  Key: storageValue({ value: AccountId, docs: [' The `AccountId` of the sudo key.'] }),
};

export const sudoEvents = defineEvents(SUDO, CRATE, {
  Sudid: { fields: { sudoResult: DispatchResult }, docs: ['A sudo call just took place.'] },
  KeyChanged: {
    fields: { old: t.option(AccountId), new: AccountId },
    docs: ['The sudo key has been updated.'],
  },
  KeyRemoved: { docs: ['The key was permanently removed.'] },
  SudoAsDone: {
    fields: { sudoResult: DispatchResult },
    docs: ['A [sudo_as](Pallet::sudo_as) call just took place.'],
  },
});

export const sudoErrors = defineErrors(SUDO, CRATE, {
  RequireSudo: 'Sender must be the Sudo account.',
});

function ensureSudo(ctx: CallContext): Uint8Array {
  if (ctx.origin.kind !== 'signed') throw DispatchFailure.badOrigin();
  const key = sudoStorage.Key.get(ctx);
  if (!key || Buffer.compare(key, ctx.origin.account) !== 0) throw sudoErrors.fail('RequireSudo');
  return ctx.origin.account;
}

function result(outcome: DispatchOutcome) {
  return outcome.ok ? ({ tag: 'Ok', value: null } as const) : ({ tag: 'Err', value: outcome.error } as const);
}

export type SudoConfig = { refs: RuntimeRefs; key: Uint8Array | null };

export function sudoPallet(config: SudoConfig): Pallet {
  const boxedCall = config.refs.call;
  // Sudo's weight is its own plus the wrapped call's, as in FRAME.
  const wrapping = (inner: RuntimeCallValue, runtime: RuntimeHandle) => {
    const w = runtime.callInfo(inner).weight;
    return { refTime: w.refTime + 10_000_000n, proofSize: w.proofSize + 1_517n };
  };
  return definePallet({
    name: SUDO,
    crate: CRATE,
    storage: sudoStorage,
    events: sudoEvents,
    errors: sudoErrors,
    calls: {
      sudo: call({
        index: 0,
        args: { call: boxedCall },
        typeNames: { call: 'Box<<T as Config>::RuntimeCall>' },
        weight: (args, runtime) => wrapping(args.call, runtime),
        docs: ['Authenticates the sudo key and dispatches a function call with `Root` origin.'],
        handler(ctx, args) {
          ensureSudo(ctx);
          const outcome = ctx.dispatch({ kind: 'root' }, args.call);
          sudoEvents.emit(ctx, 'Sudid', { sudoResult: result(outcome) });
        },
      }),
      sudoUncheckedWeight: call({
        index: 1,
        args: { call: boxedCall, weight: Weight },
        typeNames: { call: 'Box<<T as Config>::RuntimeCall>' },
        weight: (args) => args.weight,
        docs: [
          'Authenticates the sudo key and dispatches a function call with `Root` origin.',
          'This function does not check the weight of the call, and instead allows the',
          'Sudo user to specify the weight of the call.',
        ],
        handler(ctx, args) {
          ensureSudo(ctx);
          const outcome = ctx.dispatch({ kind: 'root' }, args.call);
          sudoEvents.emit(ctx, 'Sudid', { sudoResult: result(outcome) });
        },
      }),
      setKey: call({
        index: 2,
        args: { new: MultiAddress },
        typeNames: { new: 'AccountIdLookupOf<T>' },
        weight: weight(10_000_000, 1_517),
        docs: [
          'Authenticates the current sudo key and sets the given AccountId (`new`) as the new sudo',
          'key.',
        ],
        handler(ctx, args) {
          const old = ensureSudo(ctx);
          const next = lookup(args.new);
          sudoStorage.Key.set(ctx, next);
          sudoEvents.emit(ctx, 'KeyChanged', { old, new: next });
        },
      }),
      sudoAs: call({
        index: 3,
        args: { who: MultiAddress, call: boxedCall },
        typeNames: { who: 'AccountIdLookupOf<T>', call: 'Box<<T as Config>::RuntimeCall>' },
        weight: (args, runtime) => wrapping(args.call, runtime),
        docs: [
          'Authenticates the sudo key and dispatches a function call with `Signed` origin from',
          'a given account.',
        ],
        handler(ctx, args) {
          ensureSudo(ctx);
          const outcome = ctx.dispatch({ kind: 'signed', account: lookup(args.who) }, args.call);
          sudoEvents.emit(ctx, 'SudoAsDone', { sudoResult: result(outcome) });
        },
      }),
      removeKey: call({
        index: 4,
        args: {},
        weight: weight(10_000_000, 1_517),
        docs: ['Permanently removes the sudo key.'],
        handler(ctx) {
          ensureSudo(ctx);
          sudoStorage.Key.kill(ctx);
          sudoEvents.emit(ctx, 'KeyRemoved');
        },
      }),
    },
    hooks: {
      genesis(env) {
        if (config.key) sudoStorage.Key.set(env, config.key);
      },
    },
  });
}
