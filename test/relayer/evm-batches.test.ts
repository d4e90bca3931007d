import { describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import { ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentDigest,
  fulfillmentLeaf,
  fulfillmentOf,
  signTypedDigest,
} from '../../src/crypto/proofs.js';
import type { Origin } from '../../src/protocol/origin.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import { completeBatches } from '../../src/relayer/chains/evm-batches.js';
import type { SubmitItem } from '../../src/relayer/ports.js';

/**
 * Batch completeness (src/relayer/chains/evm-batches.ts): the relayer sends a worker's signed
 * FulfillmentBatch as one transaction only when every member is at hand, in the worker's order,
 * under the worker's own signature. Everything else goes one by one. Signatures are real.
 */
const EVM: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31337,
  gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const DOMAIN = { chainId: EVM.chainId, verifyingContract: EVM.gateway };

const bytes32 = (fill: number): Hex => toHex(new Uint8Array(32).fill(fill)) as Hex;

function requestFor(n: number, origin: Origin = EVM): RequestJob {
  return {
    v: 1,
    origin,
    requestId: bytes32(n),
    contractId: bytes32(0xc0),
    cluster: bytes32(0xc1),
    requester: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
    nonce: String(n),
    sealedInput: '0x01',
    responseKey: bytes32(0xc2),
    deadline: 2_000_000_000,
    observed: { chain: 'test', blockNumber: n, blockHash: bytes32(0xc3), at: 1_700_000_000 },
  };
}

type Worker = ReturnType<typeof generateKeyPair>;

/** A worker's results for `ns`, each signed alone and all signed together as one batch. */
function signedBatch(worker: Worker, ns: number[], batchSigner: Worker = worker): SubmitItem[] {
  const outputs = ns.map((n) => ({
    request: requestFor(n),
    publicOutput: new TextEncoder().encode(`answer ${n}`),
    sealedOutput: new Uint8Array([n]),
    stateRoot: bytes32(0xd0),
  }));
  const leaves = outputs.map((o) =>
    fulfillmentLeaf(fulfillmentOf(o.request.requestId, o.publicOutput, o.sealedOutput, o.stateRoot)),
  );
  const root = toHex(fulfillmentBatchRoot(leaves)) as Hex;
  const signature = signTypedDigest(fulfillmentBatchDigest(DOMAIN, root, ns.length), batchSigner.secretKey);
  return outputs.map((o, index) => {
    const single = fulfillmentDigest(
      DOMAIN,
      fulfillmentOf(o.request.requestId, o.publicOutput, o.sealedOutput, o.stateRoot),
    );
    const result: ResultJob = {
      v: 1,
      jobId: `job-${index}`,
      origin: EVM,
      requestId: o.request.requestId,
      contractId: o.request.contractId,
      cluster: o.request.cluster,
      worker: { address: ethereumAddress(worker.publicKey), publicKey: toHex(worker.publicKey) },
      status: 'ok',
      publicOutput: toHex(o.publicOutput),
      sealedOutput: toHex(o.sealedOutput),
      stateRoot: o.stateRoot,
      proof: { kind: 'eip712', signature: signTypedDigest(single, worker.secretKey) },
      batch: { root, index, count: ns.length, signature },
      gasUsed: 10,
      producedAt: 1_700_000_001,
    };
    return { request: o.request, result };
  });
}

const ids = (groups: SubmitItem[][]): Hex[][] => groups.map((g) => g.map((item) => item.request.requestId));

describe('completeBatches', () => {
  const alice = generateKeyPair('secp256k1');
  const bob = generateKeyPair('secp256k1');

  it('a whole batch, however it arrived, goes as one group in the worker’s order', () => {
    const batch = signedBatch(alice, [1, 2, 3, 4]);
    const arrived = [batch[2]!, batch[0]!, batch[3]!, batch[1]!];
    expect(ids(completeBatches(arrived))).toEqual([[bytes32(1), bytes32(2), bytes32(3), bytes32(4)]]);
  });

  it('two workers’ batches are two groups; a partial batch beside them is left out', () => {
    const a = signedBatch(alice, [1, 2]);
    const b = signedBatch(bob, [3, 4, 5]);
    const partial = signedBatch(alice, [6, 7, 8]).slice(0, 2);
    const groups = ids(completeBatches([...b, ...partial, ...a]));
    expect(groups).toHaveLength(2);
    expect(groups).toContainEqual([bytes32(1), bytes32(2)]);
    expect(groups).toContainEqual([bytes32(3), bytes32(4), bytes32(5)]);
  });

  it('a batch missing its last member is not complete (no sparse-array holes pass)', () => {
    expect(completeBatches(signedBatch(alice, [1, 2, 3]).slice(0, 2))).toEqual([]);
  });

  it('a member whose outputs were changed breaks the root: the batch goes one by one', () => {
    const batch = signedBatch(alice, [1, 2, 3]);
    const tampered = {
      ...batch[1]!,
      result: { ...batch[1]!.result, publicOutput: toHex(new Uint8Array([9])) },
    };
    expect(completeBatches([batch[0]!, tampered, batch[2]!])).toEqual([]);
  });

  it('members swapped between places (the relayer reordering) break the root', () => {
    const batch = signedBatch(alice, [1, 2, 3]);
    const swap = (item: SubmitItem, index: number): SubmitItem => ({
      ...item,
      result: { ...item.result, batch: { ...item.result.batch!, index } },
    });
    expect(completeBatches([swap(batch[0]!, 1), swap(batch[1]!, 0), batch[2]!])).toEqual([]);
  });

  it('a batch signed by a key other than the results’ worker is refused', () => {
    expect(completeBatches(signedBatch(alice, [1, 2], bob))).toEqual([]);
  });

  it('a batch signature over another count is refused', () => {
    const batch = signedBatch(alice, [1, 2]);
    const forged = signTypedDigest(
      fulfillmentBatchDigest(DOMAIN, batch[0]!.result.batch!.root, 3),
      alice.secretKey,
    );
    const items = batch.map((item) => ({
      ...item,
      result: { ...item.result, batch: { ...item.result.batch!, signature: forged } },
    }));
    expect(completeBatches(items)).toEqual([]);
  });

  it('another worker cannot complete a batch by claiming a member', () => {
    const batch = signedBatch(alice, [1, 2]);
    const claimed = {
      ...batch[1]!,
      result: {
        ...batch[1]!.result,
        worker: { address: ethereumAddress(bob.publicKey), publicKey: toHex(bob.publicKey) },
      },
    };
    expect(completeBatches([batch[0]!, claimed])).toEqual([]);
  });

  it('single results, stateful results and non-EVM origins are never grouped', () => {
    const single = signedBatch(alice, [1]);
    const stateful = signedBatch(alice, [2, 3]).map((item) => ({
      ...item,
      result: {
        ...item.result,
        stateCommit: {
          contractId: item.request.contractId,
          expectedVersion: '0',
          sealedState: '0x00' as Hex,
          stateRoot: bytes32(0xd0),
          signature: toHex(new Uint8Array(65)),
        },
      },
    }));
    const phala = signedBatch(alice, [4, 5]).map((item) => ({
      ...item,
      request: { ...item.request, origin: { kind: 'phala', genesisHash: bytes32(0xee) } as Origin },
    }));
    expect(completeBatches([...single, ...stateful, ...phala])).toEqual([]);
  });

  it('a duplicate of a member does not displace the first copy', () => {
    const batch = signedBatch(alice, [1, 2]);
    const duplicate = { ...batch[0]!, result: { ...batch[0]!.result, jobId: 'again' } };
    const groups = completeBatches([batch[0]!, duplicate, batch[1]!]);
    expect(groups).toHaveLength(1);
    expect(groups[0]![0]!.result.jobId).toBe(batch[0]!.result.jobId);
    expect(fromHex(groups[0]![1]!.request.requestId)).toEqual(fromHex(bytes32(2)));
  });
});
