import { type Hex, encodeFunctionData, keccak256 } from 'viem';
import { fromHex, toHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { batchLeaf, fulfillmentLeaf } from '../../crypto/proofs.js';
import { buildMerkleTree } from '../../crypto/merkle.js';
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

/** Item `index` of a batch: the gateway refuses the batch unless each item carries its place. */
function itemArg(f: FulfillmentInput, index: number) {
  return {
    request: refArg(f.request),
    publicOutput: f.publicOutput,
    sealedOutput: f.sealedOutput,
    stateRoot: f.stateRoot,
    index,
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
 * The batch a worker signs (EIP-712 `FulfillmentBatch(root, count)`): item `i`'s leaf is
 * `keccak256(abi.encode(i, keccak256(abi.encode(requestId, keccak256(publicOutput),
 * keccak256(sealedOutput), stateRoot))))`, sorted-pair Merkle root (src/crypto/merkle.ts) of the
 * leaves in item order, exactly as the gateway rebuilds it. The items must be submitted in this order.
 */
export function buildFulfillmentBatch(items: readonly FulfillmentInput[]): BuildFulfillmentBatchReturnType {
  const leaves = items.map((f, i) => batchLeaf(i, fulfillmentLeaf(fulfillmentMessage(f))));
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

/** Calldata of `fulfillBatch(items, signature)`, items in the order they were signed. */
export function encodeFulfillBatch(p: EncodeFulfillBatchParameters): Hex {
  fromHex(p.signature, 'signature', 65);
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'fulfillBatch',
    args: [p.items.map((item, i) => itemArg(item, i)), p.signature],
  });
}

/** One worker's signed batch: its items in the order it signed them, and its signature. */
export type WorkerBatchInput = { items: readonly FulfillmentInput[]; signature: Hex };

export type EncodeFulfillBatchesParameters = { batches: readonly WorkerBatchInput[] };

/**
 * Calldata of `fulfillBatches(batches)`: several workers' signed batches in one transaction. The
 * gateway checks each batch against its own signer; a batch whose signer is not authorized only
 * skips its own items. Each batch's items go in the order they were signed.
 */
export function encodeFulfillBatches(p: EncodeFulfillBatchesParameters): Hex {
  if (p.batches.length === 0) throw new InvalidInputError('batches', 'at least one batch');
  const batches = p.batches.map((b, n) => {
    // The gateway reverts the whole transaction on an empty batch: refuse it here.
    if (b.items.length === 0) throw new InvalidInputError(`batches[${n}].items`, 'at least one item');
    fromHex(b.signature, `batches[${n}].signature`, 65);
    return { items: b.items.map((item, i) => itemArg(item, i)), signature: b.signature };
  });
  return encodeFunctionData({ abi: phalaBridgeGatewayAbi, functionName: 'fulfillBatches', args: [batches] });
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
