import { fromHex, toHex } from '../../base/bytes.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentLeaf,
  fulfillmentOf,
  isTypedSignatureBy,
} from '../../crypto/proofs.js';
import type { Origin } from '../../protocol/origin.js';
import type { SubmitItem } from '../ports.js';

/**
 * Worker batches present in full among `items`, each in batch order, whose root is the root of
 * these very results and whose signature is the worker's own. Anything short of that is left to
 * go one by one.
 */
export function completeBatches(items: SubmitItem[]): SubmitItem[][] {
  const byRoot = new Map<string, SubmitItem[]>();
  for (const item of items) {
    const batch = item.result.batch;
    // Stateful results go one by one: each commits its state first.
    if (!batch || batch.count < 2 || item.request.origin.kind !== 'evm' || item.result.stateCommit) continue;
    const key = `${batch.root}:${item.result.worker.address.toLowerCase()}`;
    byRoot.set(key, [...(byRoot.get(key) ?? []), item]);
  }
  const complete: SubmitItem[][] = [];
  for (const group of byRoot.values()) {
    const { count, root, signature } = group[0]!.result.batch!;
    // Filled, not `new Array(count)`: array methods skip the holes of a sparse array, which would
    // let a partial batch pass for a complete one.
    const ordered = Array.from<SubmitItem | undefined>({ length: count });
    for (const item of group) ordered[item.result.batch!.index] ??= item;
    if (ordered.some((item) => item === undefined)) continue;
    const members = ordered as SubmitItem[];
    const leaves = members.map((m) =>
      fulfillmentLeaf(
        fulfillmentOf(
          m.request.requestId,
          fromHex(m.result.publicOutput),
          fromHex(m.result.sealedOutput),
          m.result.stateRoot,
        ),
      ),
    );
    if (toHex(fulfillmentBatchRoot(leaves)) !== root.toLowerCase()) continue;
    const origin = members[0]!.request.origin as Extract<Origin, { kind: 'evm' }>;
    // The worker's key was matched to its address when its results were accepted.
    const signed = isTypedSignatureBy(
      fulfillmentBatchDigest({ chainId: origin.chainId, verifyingContract: origin.gateway }, root, count),
      signature,
      fromHex(members[0]!.result.worker.publicKey),
    );
    if (!signed) continue;
    complete.push(members);
  }
  return complete;
}
