import { fromHex, toHex } from '../../base/bytes.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentLeaf,
  fulfillmentOf,
  isTypedSignatureBy,
} from '../../crypto/proofs.js';
import type { SubmitItem } from '../ports.js';

/**
 * Whether `batch` is the worker's FulfillmentBatch over exactly `items`, in this order: the root
 * is the root of these very answers and the signature is by the key the items name (each item's
 * key was matched to its address by `checkResult`). Anything short of that goes one by one.
 */
export function isSignedBatch(
  items: readonly SubmitItem[],
  batch: { root: `0x${string}`; signature: `0x${string}` },
): boolean {
  const first = items[0];
  if (!first) return false;
  const origin = first.request.origin;
  if (origin.kind !== 'evm') return false;
  const sameTarget = items.every(
    (i) =>
      i.request.origin.kind === 'evm' &&
      i.request.origin.chainId === origin.chainId &&
      i.request.origin.gateway.toLowerCase() === origin.gateway.toLowerCase() &&
      i.result.worker.publicKey.toLowerCase() === first.result.worker.publicKey.toLowerCase() &&
      // Stateful results go one by one: each commits its state first.
      !i.result.stateCommit,
  );
  if (!sameTarget) return false;
  const leaves = items.map((m) =>
    fulfillmentLeaf(
      fulfillmentOf(
        m.request.requestId,
        fromHex(m.result.publicOutput),
        fromHex(m.result.sealedOutput),
        m.result.stateRoot,
      ),
    ),
  );
  if (toHex(fulfillmentBatchRoot(leaves)) !== batch.root.toLowerCase()) return false;
  try {
    return isTypedSignatureBy(
      fulfillmentBatchDigest(
        { chainId: origin.chainId, verifyingContract: origin.gateway },
        batch.root,
        items.length,
      ),
      batch.signature,
      fromHex(first.result.worker.publicKey),
    );
  } catch {
    return false;
  }
}
