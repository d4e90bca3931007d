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
import { isSignedBatch } from '../../src/relayer/chains/evm-batches.js';
import type { SubmitItem } from '../../src/relayer/ports.js';

/**
 * Whether a worker batch goes whole (src/relayer/chains/evm-batches.ts, `isSignedBatch`): the
 * prepare stage sends a worker's FulfillmentBatch as one signed batch only when the root is the
 * root of exactly these answers, in the worker's order, for one gateway, signed by the key the
 * answers name. Anything else goes one by one, each answer under its own proof. Signatures are real.
 */
const EVM: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31337,
  gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const OTHER_GATEWAY: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31337,
  gateway: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
};
const OTHER_CHAIN: Extract<Origin, { kind: 'evm' }> = { ...EVM, chainId: 31338 };

const bytes32 = (fill: number): Hex => toHex(new Uint8Array(32).fill(fill)) as Hex;

type Worker = ReturnType<typeof generateKeyPair>;
type Batch = { root: Hex; signature: Hex };

function requestFor(n: number, origin: Origin): RequestJob {
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

/** `worker`'s answer to request `n`, signed alone (its own proof). */
function answer(worker: Worker, n: number, origin: Origin = EVM): SubmitItem {
  const request = requestFor(n, origin);
  const publicOutput = new TextEncoder().encode(`answer ${n}`);
  const sealedOutput = new Uint8Array([n]);
  const stateRoot = bytes32(0xd0);
  const domain =
    origin.kind === 'evm' ? { chainId: origin.chainId, verifyingContract: origin.gateway } : undefined;
  const signature = domain
    ? signTypedDigest(
        fulfillmentDigest(domain, fulfillmentOf(request.requestId, publicOutput, sealedOutput, stateRoot)),
        worker.secretKey,
      )
    : toHex(new Uint8Array(65));
  const result: ResultJob = {
    v: 1,
    jobId: `job-${n}`,
    origin,
    requestId: request.requestId,
    contractId: request.contractId,
    cluster: request.cluster,
    worker: { address: ethereumAddress(worker.publicKey), publicKey: toHex(worker.publicKey) },
    status: 'ok',
    publicOutput: toHex(publicOutput),
    sealedOutput: toHex(sealedOutput),
    stateRoot,
    proof: { kind: 'eip712', signature },
    gasUsed: 10,
    producedAt: 1_700_000_001,
  };
  return { request, result };
}

/** The FulfillmentBatch over `items` in this order, for `origin`'s gateway, signed by `signer`. */
function sign(
  items: readonly SubmitItem[],
  signer: Worker,
  options: { origin?: Origin; count?: number } = {},
): Batch {
  const origin = (options.origin ?? items[0]!.request.origin) as Extract<Origin, { kind: 'evm' }>;
  const leaves = items.map(({ request, result }) =>
    fulfillmentLeaf(
      fulfillmentOf(
        request.requestId,
        fromHex(result.publicOutput),
        fromHex(result.sealedOutput),
        result.stateRoot,
      ),
    ),
  );
  const root = toHex(fulfillmentBatchRoot(leaves)) as Hex;
  const digest = fulfillmentBatchDigest(
    { chainId: origin.chainId, verifyingContract: origin.gateway },
    root,
    options.count ?? items.length,
  );
  return { root, signature: signTypedDigest(digest, signer.secretKey) };
}

const alice = generateKeyPair('secp256k1');
const bob = generateKeyPair('secp256k1');
const abc = [answer(alice, 1), answer(alice, 2), answer(alice, 3)];

type Row = { case: string; items: () => SubmitItem[]; batch: () => Batch; whole: boolean };

const rows: Row[] = [
  {
    case: 'the worker’s batch, every answer, in the worker’s order → whole',
    items: () => abc,
    batch: () => sign(abc, alice),
    whole: true,
  },
  {
    case: 'a batch of one (a lone result signed as a batch) → whole',
    items: () => [abc[0]!],
    batch: () => sign([abc[0]!], alice),
    whole: true,
  },
  {
    case: 'the answers in another order than signed → one by one',
    items: () => [abc[1]!, abc[0]!, abc[2]!],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'part of the batch (its last answer missing) → one by one',
    items: () => abc.slice(0, 2),
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'part of the batch (its first answer missing) → one by one',
    items: () => abc.slice(1),
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'an answer whose output was changed after signing → one by one',
    items: () => [abc[0]!, { ...abc[1]!, result: { ...abc[1]!.result, publicOutput: '0x09' } }, abc[2]!],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'an answer whose state root was changed after signing → one by one',
    items: () => [abc[0]!, abc[1]!, { ...abc[2]!, result: { ...abc[2]!.result, stateRoot: bytes32(0xee) } }],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'a root that is not the root of these answers → one by one',
    items: () => abc,
    batch: () => ({ ...sign(abc, alice), root: bytes32(0x77) }),
    whole: false,
  },
  {
    case: 'signed by another key than the answers’ worker → one by one',
    items: () => abc,
    batch: () => sign(abc, bob),
    whole: false,
  },
  {
    case: 'another worker’s answers under alice’s batch signature → one by one',
    items: () => [answer(bob, 1), answer(bob, 2), answer(bob, 3)],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'one answer claimed by another worker → one by one',
    items: () => [abc[0]!, answer(bob, 2), abc[2]!],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'signed over another count → one by one',
    items: () => abc,
    batch: () => sign(abc, alice, { count: 4 }),
    whole: false,
  },
  {
    case: 'signed for another gateway’s domain → one by one',
    items: () => abc,
    batch: () => sign(abc, alice, { origin: OTHER_GATEWAY }),
    whole: false,
  },
  {
    case: 'answers for two gateways in one batch → one by one',
    items: () => [abc[0]!, answer(alice, 2, OTHER_GATEWAY)],
    batch: () => sign([abc[0]!, answer(alice, 2, OTHER_GATEWAY)], alice),
    whole: false,
  },
  {
    case: 'answers for two chains in one batch → one by one',
    items: () => [abc[0]!, answer(alice, 2, OTHER_CHAIN)],
    batch: () => sign([abc[0]!, answer(alice, 2, OTHER_CHAIN)], alice),
    whole: false,
  },
  {
    case: 'stateful answers (each commits its state first) → one by one',
    items: () =>
      abc.map((item) => ({
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
      })),
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'answers to a Phala-style origin → one by one (no EVM batch there)',
    items: () => [answer(alice, 1, { kind: 'phala', genesisHash: bytes32(0xee) })],
    batch: () => sign([abc[0]!], alice),
    whole: false,
  },
  {
    case: 'one answer twice (a duplicate in the job) → one by one',
    items: () => [abc[0]!, abc[0]!, abc[1]!, abc[2]!],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'a batch signed over a duplicate answer, sent with it → whole (the gateway skips the copy as NotPending)',
    items: () => [abc[0]!, abc[0]!],
    batch: () => sign([abc[0]!, abc[0]!], alice),
    whole: true,
  },
  {
    case: 'no answers at all → nothing to send whole',
    items: () => [],
    batch: () => sign(abc, alice),
    whole: false,
  },
  {
    case: 'a malformed signature → one by one (no throw)',
    items: () => abc,
    batch: () => ({ ...sign(abc, alice), signature: '0x1234' }),
    whole: false,
  },
];

describe('isSignedBatch: does a worker batch go whole?', () => {
  it.each(rows)('$case', ({ items, batch, whole }) => {
    expect(isSignedBatch(items(), batch())).toBe(whole);
  });

  it('the root is compared whatever the case of its hex digits', () => {
    const batch = sign(abc, alice);
    expect(isSignedBatch(abc, { ...batch, root: `0x${batch.root.slice(2).toUpperCase()}` })).toBe(true);
  });
});
