import type { Hex } from 'viem';
import {
  type GatewayDomain,
  fulfillmentBatchDigest,
  fulfillmentDigest,
  signTypedDigest,
} from '../crypto/proofs.js';
import { buildFulfillmentBatch, fulfillmentMessage } from './gateway/fulfill.js';
import type { FulfillmentInput } from './types.js';

/**
 * What a worker does for the EVM (PROTOCOL §4): sign one result (EIP-712 `Fulfillment`) or a batch
 * (`FulfillmentBatch(root, count)`). In production the enclave signs; these serve the devnet,
 * tests and other implementations checking themselves.
 */
export function signFulfillment(domain: GatewayDomain, f: FulfillmentInput, secretKey: Uint8Array): Hex {
  return signTypedDigest(fulfillmentDigest(domain, fulfillmentMessage(f)), secretKey);
}

export type SignFulfillmentBatchReturnType = { signature: Hex; root: Hex; count: number; digest: Hex };

export function signFulfillmentBatch(
  domain: GatewayDomain,
  items: readonly FulfillmentInput[],
  secretKey: Uint8Array,
): SignFulfillmentBatchReturnType {
  const { root, count } = buildFulfillmentBatch(items);
  const digest = fulfillmentBatchDigest(domain, root, count);
  return { signature: signTypedDigest(digest, secretKey), root, count, digest };
}
