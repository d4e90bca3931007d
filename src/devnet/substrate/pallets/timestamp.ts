import type { Env } from '../runtime/context.js';
import { DispatchFailure } from '../runtime/errors.js';
import { type Pallet, call, definePallet, storageValue, weight } from '../runtime/pallet.js';
import { Moment } from '../runtime/types.js';
import { t } from '../scale/ty.js';

export const TIMESTAMP = 'Timestamp';
/** The inherent identifier FRAME's timestamp pallet reads (`*b"timstap0"`). */
export const TIMESTAMP_INHERENT = 'timstap0';

export const timestampStorage = {
  Now: storageValue({ value: Moment, default: 0n, docs: [' The current time for the current block.'] }),
  DidUpdate: storageValue({
    value: t.bool,
    default: false,
    docs: [' Whether the timestamp has been updated in this block.'],
  }),
};

export type TimestampConfig = { minimumPeriod: bigint };

export function timestampPallet(config: TimestampConfig): Pallet {
  return definePallet({
    name: TIMESTAMP,
    crate: 'pallet_timestamp',
    storage: timestampStorage,
    calls: {
      set: call({
        index: 0,
        args: { now: t.compact(Moment) },
        weight: weight(9_000_000, 1_493),
        class: 'Mandatory',
        paysFee: false,
        docs: ['Set the current time.'],
        handler(ctx, { now }) {
          if (ctx.origin.kind !== 'none') throw DispatchFailure.badOrigin();
          if (timestampStorage.DidUpdate.get(ctx))
            throw new Error('Timestamp must be updated only once in the block');
          const previous = timestampStorage.Now.get(ctx);
          if (previous !== 0n && now < previous + config.minimumPeriod) {
            throw new Error('Timestamp must increment by at least <MinimumPeriod> between sequential blocks');
          }
          timestampStorage.Now.set(ctx, now);
          timestampStorage.DidUpdate.set(ctx, true);
        },
      }),
    },
    constants: {
      MinimumPeriod: {
        type: Moment,
        value: config.minimumPeriod,
        docs: [' The minimum period between blocks.'],
      },
    },
    hooks: {
      inherent(env) {
        const now = env.inherentData.get(TIMESTAMP_INHERENT);
        if (typeof now !== 'bigint') throw new Error('block producer must provide the timestamp inherent');
        return { call: 'set', args: { now } };
      },
      onFinalize(env) {
        if (!timestampStorage.DidUpdate.get(env))
          throw new Error('Timestamp must be updated once in the block');
        timestampStorage.DidUpdate.kill(env);
      },
    },
  });
}

/** The timestamp (ms) of the block being built. */
export function now(env: Env): bigint {
  return timestampStorage.Now.get(env);
}
