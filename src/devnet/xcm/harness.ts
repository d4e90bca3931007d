import { DevChain, type StoredBlock } from '../substrate/chain/chain.js';
import type { EventRecordValue } from '../substrate/runtime/refs.js';
import { phalaXcmChainSpec, siblingChainSpec } from './chains/parachains.js';
import { relayChainSpec } from './chains/relay.js';
import {
  type BackedCandidateValue,
  PARACHAIN_INHERENT,
  PARAS_INHERENT,
  type ParachainInherentDataValue,
} from './types.js';

/**
 * One chain of the relay devnet alone, without RPC or router, fed messages directly: a parachain
 * gets downward messages (origin Parent) and XCMP pages (origin Sibling(id)) in its next block's
 * inherent; the relay chain gets upward messages from a parachain's candidate. For tests and
 * benchmarks of the executor and the message paths.
 */

export type DeliveredBlock = { block: StoredBlock; events: EventRecordValue[] };

export type ChainHarness = {
  chain: DevChain;
  /** Builds one block carrying the messages; resolves with it and its events. */
  deliver(messages: {
    downward?: Uint8Array[];
    horizontal?: [sender: number, pages: Uint8Array[]][];
    upward?: [paraId: number, messages: Uint8Array[]][];
  }): Promise<DeliveredBlock>;
  /** Unexpected exceptions from pallet code (bugs) seen so far. */
  readonly errors: object[];
  stop(): Promise<void>;
};

export async function startChainHarness(which: 'sibling' | 'phala' | 'relay'): Promise<ChainHarness> {
  const spec =
    which === 'sibling'
      ? await siblingChainSpec({ phalaGenesisHash: new Uint8Array(32) })
      : which === 'phala'
        ? await phalaXcmChainSpec()
        : await relayChainSpec({ paras: [2000, 2035] });
  const errors: object[] = [];
  const chain = await DevChain.start({
    spec,
    production: { mode: 'manual' },
    logger: { info() {}, warn() {}, error: (o) => errors.push(o) },
  });
  let next: Parameters<ChainHarness['deliver']>[0] = {};
  let relayParent = 0;
  const paraBlocks = new Map<number, number>();
  chain.addInherentDataProvider(() => {
    const messages = next;
    next = {};
    if (which === 'relay') {
      const backedCandidates: BackedCandidateValue[] = (messages.upward ?? []).map(([paraId, upward]) => {
        const number = (paraBlocks.get(paraId) ?? 0) + 1;
        paraBlocks.set(paraId, number);
        return {
          candidate: {
            descriptor: { paraId, paraBlockNumber: number, paraHead: new Uint8Array(32) },
            commitments: {
              upwardMessages: upward,
              horizontalMessages: [],
              processedDownwardMessages: 0,
              hrmpWatermark: 0,
            },
          },
        };
      });
      return [[PARAS_INHERENT, { backedCandidates }]];
    }
    relayParent += 1;
    const data: ParachainInherentDataValue = {
      validationData: { relayParentNumber: relayParent, relayParentStorageRoot: new Uint8Array(32) },
      downwardMessages: (messages.downward ?? []).map((msg) => ({ sentAt: relayParent, msg })),
      horizontalMessages: (messages.horizontal ?? []).map(([sender, pages]) => [
        sender,
        pages.map((data) => ({ sentAt: relayParent, data })),
      ]),
    };
    return [[PARACHAIN_INHERENT, data]];
  });
  return {
    chain,
    errors,
    async deliver(messages) {
      next = messages;
      const block = await chain.produceBlock();
      return { block, events: chain.events(block) };
    },
    stop: () => chain.stop(),
  };
}

/** The events of a pallet in a block, as `{ name, fields }` (fields in the node's plain values). */
export function palletEvents(
  events: EventRecordValue[],
  pallet: string,
): { name: string; fields: Record<string, unknown> }[] {
  return events
    .filter((e) => e.event.tag === pallet)
    .map((e) => ({
      name: e.event.value.tag,
      fields: (e.event.value.value ?? {}) as Record<string, unknown>,
    }));
}
