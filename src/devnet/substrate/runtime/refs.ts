import { type AnyTy, type Ty, t } from '../scale/ty.js';
import type { RuntimeCallValue, RuntimeEventValue } from './context.js';
import { H256, Phase, type PhaseValue } from './types.js';

export type EventRecordValue = { phase: PhaseValue; event: RuntimeEventValue; topics: Uint8Array[] };

/**
 * Late-bound references to the runtime's outer types, for pallets declared before the runtime that
 * composes them exists (sudo takes a `RuntimeCall`; `System.Events` holds `EventRecord`s).
 */
export class RuntimeRefs {
  #call: AnyTy | null = null;
  #event: AnyTy | null = null;
  readonly call: Ty<RuntimeCallValue> = t.lazy('RuntimeCall', () => {
    if (!this.#call) throw new Error('RuntimeCall is not composed yet');
    return this.#call;
  });
  readonly event: Ty<RuntimeEventValue> = t.lazy('RuntimeEvent', () => {
    if (!this.#event) throw new Error('RuntimeEvent is not composed yet');
    return this.#event;
  });
  readonly eventRecord: Ty<EventRecordValue> = t.struct(
    'frame_system::EventRecord',
    { phase: Phase, event: this.event, topics: t.vec(H256) },
    {
      params: [
        { name: 'E', type: this.event },
        { name: 'T', type: H256 },
      ],
      typeNames: { event: 'E', topics: 'Vec<T>' },
    },
  ) as Ty<EventRecordValue>;

  bind(call: AnyTy, event: AnyTy): void {
    if (this.#call) throw new Error('runtime types are already bound');
    this.#call = call;
    this.#event = event;
  }
}
