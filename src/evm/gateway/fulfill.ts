import { type Hex, encodeFunctionData, keccak256 } from 'viem';
import { fromHex, toHex } from '../../base/bytes.js';
import { buildMerkleTree } from '../../crypto/merkle.js';
import { fulfillmentLeaf } from '../../crypto/proofs.js';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import type { FulfillmentInput, RequestRef } from '../types.js';

function refArg(r: RequestRef) {
  return {
    requestId: r.requestId,
    contractId: r.contractId,
    requester: r.requester,
    callbackGasLimit: r.callbackGasLimit,
    deadline: r.deadline,
  };
}

function itemArg(f: FulfillmentInput) {
  return {
    request: refArg(f.request),
    publicOutput: f.publicOutput,
    sealedOutput: f.sealedOutput,
    stateRoot: f.stateRoot,
  };
}

/** The fields a worker signs (EIP-712 `Fulfillment`) for one result. */
export function fulfillmentMessage(f: FulfillmentInput) {
  return {
    requestId: f.request.requestId,
    publicOutputHash: keccak256(f.publicOutput),
    sealedOutputHash: keccak256(f.sealedOutput),
    stateRoot: f.stateRoot,
  };
}

export type BuildFulfillmentBatchReturnType = { root: Hex; count: number; leaves: Hex[] };

/**
 * The batch a worker signs (EIP-712 `FulfillmentBatch(root, count)`): leaves
 * `keccak256(abi.encode(requestId, keccak256(publicOutput), keccak256(sealedOutput), stateRoot))`
 * in item order, sorted-pair Merkle root (src/crypto/merkle.ts), exactly as the gateway rebuilds it.
 */
export function buildFulfillmentBatch(items: readonly FulfillmentInput[]): BuildFulfillmentBatchReturnType {
  const leaves = items.map((f) => fulfillmentLeaf(fulfillmentMessage(f)));
  const tree = buildMerkleTree(leaves);
  return { root: toHex(tree.root), count: items.length, leaves: leaves.map(toHex) };
}

export type EncodeFulfillParameters = { fulfillment: FulfillmentInput; signature: Hex };

/** Calldata of `fulfill(ref, publicOutput, sealedOutput, stateRoot, signature)`. */
export function encodeFulfill(p: EncodeFulfillParameters): Hex {
  const f = p.fulfillment;
  fromHex(p.signature, 'signature', 65);
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'fulfill',
    args: [refArg(f.request), f.publicOutput, f.sealedOutput, f.stateRoot, p.signature],
  });
}

export type EncodeFulfillBatchParameters = { items: readonly FulfillmentInput[]; signature: Hex };

/** Calldata of `fulfillBatch(items, signature)`. */
export function encodeFulfillBatch(p: EncodeFulfillBatchParameters): Hex {
  fromHex(p.signature, 'signature', 65);
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'fulfillBatch',
    args: [p.items.map(itemArg), p.signature],
  });
}

export type EncodeCancelParameters = { request: RequestRef };

/** Calldata of `cancel(ref)` (only the requester may send it, after the deadline). */
export function encodeCancel(p: EncodeCancelParameters): Hex {
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'cancel',
    args: [refArg(p.request)],
  });
}

/**
 * Gas the callbacks alone need: each consumes at most its own limit, and the gateway reverts
 * unless `limit * 64/63 + 5000` is left when it calls one. A floor for a fulfillment's gas limit;
 * the gateway's own overhead comes on top.
 */
export function callbackGasFloor(callbackGasLimits: readonly number[]): bigint {
  if (callbackGasLimits.length === 0) return 0n;
  let sum = 0n;
  for (const limit of callbackGasLimits) sum += BigInt(limit);
  return sum + (BigInt(Math.max(...callbackGasLimits)) + 62n) / 63n + 5_000n;
}
