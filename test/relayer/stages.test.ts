import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type Hex, fromHex, toHex } from '../../src/base/bytes.js';
import type { BaseError } from '../../src/base/errors.js';
import { keccak256 } from '../../src/crypto/hash.js';
import { type KeyPair, ethereumAddress, generateKeyPair } from '../../src/crypto/keys.js';
import {
  fulfillmentBatchDigest,
  fulfillmentBatchRoot,
  fulfillmentDigest,
  fulfillmentLeaf,
  fulfillmentOf,
  signSubstrateFulfillment,
  signTypedDigest,
} from '../../src/crypto/proofs.js';
import { GatewayRejectedError, SubmitterError } from '../../src/evm/errors.js';
import { type FulfillResult, fulfillResults } from '../../src/evm/types.js';
import { type Origin, requestJobId } from '../../src/protocol/origin.js';
import { type PreparedBatch, preparedBatchSchema } from '../../src/protocol/prepared-batch.js';
import type { RequestJob } from '../../src/protocol/request-job.js';
import { type ResultBatchJob, resultBatchOf } from '../../src/protocol/result-batch-job.js';
import type { ResultJob } from '../../src/protocol/result-job.js';
import type { SentTransaction } from '../../src/protocol/sent-transaction.js';
import { ApprovalCache, WorkerRevocations } from '../../src/relayer/approval-cache.js';
import { itemResultOfCode } from '../../src/relayer/chains/evm-destination.js';
import { JourneyStore } from '../../src/relayer/journey.js';
import { Lease, LeaseLostError } from '../../src/relayer/lease.js';
import { createRelayerMetrics } from '../../src/relayer/metrics.js';
import { PendingIndex, RecentlyConfirmed } from '../../src/relayer/pending.js';
import type {
  Destination,
  ItemResult,
  RequestStatus,
  SubmitItem,
  TransactionCheck,
} from '../../src/relayer/ports.js';
import { RelayerQueues } from '../../src/relayer/queues.js';
import { redisKey } from '../../src/relayer/redis.js';
import {
  type ConfirmOutcome,
  type ConfirmTiming,
  confirmDecision,
  confirmJobSchema,
  itemResultOf,
} from '../../src/relayer/stages/confirm.js';
import { ItemOutcomes } from '../../src/relayer/stages/item-outcomes.js';
import {
  type PrepareReads,
  type Preparation,
  StatusUnknownError,
  prepareBatch,
  suffix,
} from '../../src/relayer/stages/prepare.js';
import { type SubmitOutcome, SubmitStage } from '../../src/relayer/stages/submit.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The relayer's stages as tables of input → typed outcome (issue 15): prepare (one worker batch →
 * what is sent, ended, rejected), confirm (one look at a sent transaction → wait, confirmed,
 * reprepare), the gateway's per-item codes, and submit (prepared batches → transactions)
 * over real Redis and BullMQ. Every worker signature here is real (fresh secp256k1 keys); the
 * chain reads are plain data: which requests are queued, which workers approved, each status.
 */

// ─── The world the tables are written in ────────────────────────────────────────────────────────

const EVM_A: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31337,
  gateway: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const EVM_B: Extract<Origin, { kind: 'evm' }> = {
  kind: 'evm',
  chainId: 31338,
  gateway: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
};
const GENESIS = toHex(new Uint8Array(32).fill(0x9e)) as Hex;
const PHALA: Origin = { kind: 'phala', genesisHash: GENESIS };
const CLUSTER = toHex(new Uint8Array(32).fill(0xc1)) as Hex;
const STATE_ROOT = toHex(new Uint8Array(32).fill(0xd0)) as Hex;
/** Request deadlines: 2033, well ahead of every `now` in these tables unless a row says otherwise. */
const DEADLINE = 2_000_000_000;

const alice = generateKeyPair('secp256k1');
const bob = generateKeyPair('secp256k1');
const mallory = generateKeyPair('secp256k1');
const workerOf = (key: KeyPair) => ({
  address: ethereumAddress(key.publicKey),
  publicKey: toHex(key.publicKey),
});

/** Requests are named by a short label in the tables; the id is the label's hash. */
const labels = new Map<string, string>();
function idOf(label: string): Hex {
  const id = toHex(keccak256(new TextEncoder().encode(`request ${label}`))) as Hex;
  labels.set(id.toLowerCase(), label);
  return id;
}
const labelOf = (requestId: string): string => labels.get(requestId.toLowerCase()) ?? requestId;

function requestFor(label: string, origin: Origin = EVM_A, deadline = DEADLINE): RequestJob {
  return {
    v: 1,
    origin,
    requestId: idOf(label),
    contractId: toHex(new Uint8Array(32).fill(0xc0)) as Hex,
    cluster: CLUSTER,
    requester:
      origin.kind === 'evm'
        ? '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
        : (toHex(new Uint8Array(32).fill(0x44)) as Hex),
    nonce: '1',
    sealedInput: '0x01',
    responseKey: toHex(new Uint8Array(32).fill(0xc2)) as Hex,
    deadline,
    observed: { chain: 'origin', blockNumber: 1, blockHash: STATE_ROOT, at: 1_700_000_000_000 },
  };
}

/** `worker`'s answer to `request`, with its own proof made the origin's way by `signer`. */
function answer(worker: KeyPair, request: RequestJob, signer: KeyPair = worker): ResultJob {
  const publicOutput = new TextEncoder().encode(`answer to ${labelOf(request.requestId)}`);
  const sealedOutput = new Uint8Array([7, 7, 7]);
  let proof: ResultJob['proof'];
  if (request.origin.kind === 'evm') {
    const digest = fulfillmentDigest(
      { chainId: request.origin.chainId, verifyingContract: request.origin.gateway },
      fulfillmentOf(request.requestId, publicOutput, sealedOutput, STATE_ROOT),
    );
    proof = { kind: 'eip712', signature: signTypedDigest(digest, signer.secretKey) };
  } else {
    const signature = signSubstrateFulfillment(
      {
        genesisHash: fromHex(GENESIS),
        requestId: fromHex(request.requestId),
        publicOutput,
        sealedOutput,
        stateRoot: fromHex(STATE_ROOT),
      },
      signer.secretKey,
    );
    proof = { kind: 'substrate', signature: toHex(signature) };
  }
  return {
    v: 1,
    jobId: requestJobId(request.origin, request.requestId),
    origin: request.origin,
    requestId: request.requestId,
    contractId: request.contractId,
    cluster: request.cluster,
    worker: workerOf(worker),
    status: 'ok',
    publicOutput: toHex(publicOutput),
    sealedOutput: toHex(sealedOutput),
    stateRoot: STATE_ROOT,
    proof,
    gasUsed: 10,
    producedAt: 1_700_000_000_500,
  };
}

/** The worker's FulfillmentBatch over `results` in this order, signed by `signer`. */
function batchSignature(results: readonly ResultJob[], signer: KeyPair): { root: Hex; signature: Hex } {
  const origin = results[0]!.origin as Extract<Origin, { kind: 'evm' }>;
  const leaves = results.map((r) =>
    fulfillmentLeaf(
      fulfillmentOf(r.requestId, fromHex(r.publicOutput), fromHex(r.sealedOutput), r.stateRoot),
    ),
  );
  const root = toHex(fulfillmentBatchRoot(leaves)) as Hex;
  const digest = fulfillmentBatchDigest(
    { chainId: origin.chainId, verifyingContract: origin.gateway },
    root,
    results.length,
  );
  return { root, signature: signTypedDigest(digest, signer.secretKey) };
}

type Answered = { requests: RequestJob[]; job: ResultBatchJob };

/** What a worker publishes: its answers to `names` as one job, signed as a batch unless `unsigned`. */
function published(
  worker: KeyPair,
  names: string[],
  options: { origin?: Origin; unsigned?: boolean; batchSigner?: KeyPair } = {},
): Answered {
  const requests = names.map((n) => requestFor(n, options.origin));
  const results = requests.map((r) => answer(worker, r));
  const job: ResultBatchJob = { v: 2, worker: workerOf(worker), results };
  if (!options.unsigned) job.batch = batchSignature(results, options.batchSigner ?? worker);
  return { requests, job };
}

/** A destination as the tables need it: a name, the origins it answers, and what it was asked to send. */
class MemoryDestination implements Destination {
  readonly chain: string;
  readonly batch: { maxSize: number; maxDelayMs: number };
  readonly #origins: Origin[];
  /** Every `send` call, as the batch ids it carried. */
  readonly sends: string[][] = [];
  /** Whether the confirm job existed when each transaction left (the hand-over came first). */
  readonly handedOverFirst: boolean[] = [];
  /** Makes `send` fail for a transaction carrying these batches. */
  refuse: (batches: readonly PreparedBatch[]) => Error | undefined = () => undefined;
  /** Makes `send` fail after the hand-over, as a broadcast the node refused. */
  failBroadcast: Error | undefined;
  confirmQueue: Queue | undefined;
  #nonce = 0;

  constructor(chain: string, origins: Origin[], batch = { maxSize: 4, maxDelayMs: 30 }) {
    this.chain = chain;
    this.#origins = origins;
    this.batch = batch;
  }

  accepts(origin: Origin): boolean {
    return this.#origins.some((o) => JSON.stringify(o) === JSON.stringify(origin));
  }
  async isApprovedWorker(): Promise<boolean> {
    return true;
  }
  async status(): Promise<RequestStatus> {
    return 'pending';
  }
  canShare(batch: PreparedBatch, others: readonly PreparedBatch[]): boolean {
    return batch.signature !== null && others.every((o) => o.signature !== null);
  }
  async send(
    batches: PreparedBatch[],
    beforeBroadcast: (sent: SentTransaction) => Promise<void>,
  ): Promise<SentTransaction> {
    this.sends.push(batches.map((b) => b.id));
    const refused = this.refuse(batches);
    if (refused) throw refused;
    const nonce = this.#nonce++;
    const hash = toHex(keccak256(new TextEncoder().encode(`${this.chain} ${nonce}`))) as Hex;
    const sent: SentTransaction = {
      chain: this.chain,
      signer: workerOf(bob).address,
      nonce,
      hashes: [hash],
      raw: '0x02',
      fees: { maxFeePerGas: '2000000000', maxPriorityFeePerGas: '1000000000' },
      sentAt: Date.now(),
      lastSentAt: Date.now(),
    };
    await beforeBroadcast(sent);
    if (this.failBroadcast) throw this.failBroadcast;
    const confirmId = `${this.chain}-${nonce}-${hash.slice(2, 18)}`;
    this.handedOverFirst.push((await this.confirmQueue?.getJob(confirmId)) !== undefined);
    return sent;
  }
  async check(): Promise<TransactionCheck> {
    return { kind: 'pending', known: true };
  }
  async rebroadcast(): Promise<void> {}
  async replace(): Promise<SentTransaction | null> {
    return null;
  }
}

// ─── prepare ────────────────────────────────────────────────────────────────────────────────────

const destA = new MemoryDestination('evm-a', [EVM_A]);
const destB = new MemoryDestination('evm-b', [EVM_B]);
const destPhala = new MemoryDestination('phala', [PHALA]);

type World = {
  /** Requests on the request queues (default: every request the worker answered). */
  queued?: RequestJob[];
  /** Approved workers (default: alice). */
  approved?: KeyPair[];
  /** Workers the Phala-style chain revoked. */
  revoked?: KeyPair[];
  /** Statuses by label (default pending); `no answer`: the chain's read fails. */
  status?: Record<string, RequestStatus | 'no answer'>;
};

/** The chain and queue reads as plain data, through the relayer's real approval cache. */
function readsOf(answered: Answered, world: World): PrepareReads {
  const queued = world.queued ?? answered.requests;
  const approved = new Set((world.approved ?? [alice]).map((k) => workerOf(k).address.toLowerCase()));
  const revocations = new WorkerRevocations();
  for (const k of world.revoked ?? []) revocations.revoke(workerOf(k).address, 'revoked by the test');
  const approvals = new ApprovalCache({ revocations });
  return {
    request: async (result) =>
      queued.find((r) => requestJobId(r.origin, r.requestId) === result.jobId) ?? null,
    destinationFor: (origin) => [destA, destB, destPhala].find((d) => d.accepts(origin)),
    approval: (destination, cluster, worker) =>
      approvals.verdict(worker, `${destination.chain}:${cluster}:${worker.address}`, async () =>
        approved.has(worker.address.toLowerCase()),
      ),
    status: async (_destination, request) => {
      const status = world.status?.[labelOf(request.requestId)] ?? 'pending';
      if (status === 'no answer') throw new Error('connection refused');
      return status;
    },
    phalaGenesisHash: GENESIS,
  };
}

/** A preparation as a table reads it: requests by label, signatures by whose they are. */
function summary(p: Preparation, job: ResultBatchJob) {
  const place = (requestId: string) => job.results.findIndex((r) => r.requestId === requestId);
  return {
    send: p.send.map((b) => ({
      id: b.id,
      chain: b.chain,
      items: b.items.map((i) => labelOf(i.request.requestId)),
      proof:
        b.signature === null
          ? 'its own'
          : b.signature === job.batch?.signature && b.root === job.batch?.root
            ? 'worker batch'
            : 'other',
      attempt: b.attempt,
    })),
    end: p.end.map((e) => ({
      item: labelOf(e.item.request.requestId),
      chain: e.chain,
      as: e.as,
      reason: e.reason,
    })),
    reject: [...p.reject]
      .sort((a, b) => place(a.result.requestId) - place(b.result.requestId))
      .map((r) => ({
        item: labelOf(r.result.requestId),
        reason: r.reason,
        ...(r.security ? { security: r.security } : {}),
      })),
  };
}

const ALICE = workerOf(alice).address.toLowerCase();
const BATCH_ID = 'batch-0001';
/** The id a single answer goes under: its request job's id and the worker (as its result job had). */
const single = (label: string, origin: Origin = EVM_A, attempt = 0) =>
  `${requestJobId(origin, idOf(label))}-${ALICE}${suffix(attempt)}`;
const ownProof = (
  chain: string,
  label: string,
  options: { origin?: Origin; id?: string; attempt?: number } = {},
) => ({
  id: options.id ?? single(label, options.origin, options.attempt),
  chain,
  items: [label],
  proof: 'its own',
  attempt: options.attempt ?? 0,
});

type PrepareRow = {
  case: string;
  given: () => Answered & World & { attempt?: number; id?: string };
  outcome: ReturnType<typeof summary> | { throws: typeof StatusUnknownError };
};

const prepareRows: PrepareRow[] = [
  {
    case: 'a signed batch, every item pending → one prepared batch, the worker’s root and signature kept',
    given: () => published(alice, ['a', 'b', 'c']),
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a', 'b', 'c'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'one item answered on chain already → still whole (the signature covers it; the chain skips it)',
    given: () => ({ ...published(alice, ['a', 'b', 'c']), status: { b: 'fulfilled' } }),
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a', 'b', 'c'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a lone result signed as a batch of one → a prepared batch of one, signed',
    given: () => published(alice, ['a']),
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'nothing pending any more → each request ended as the chain says, nothing sent',
    given: () => ({
      ...published(alice, ['a', 'b', 'c']),
      status: { a: 'fulfilled', b: 'cancelled', c: 'expired' },
    }),
    outcome: {
      send: [],
      end: [
        { item: 'a', chain: 'evm-a', as: 'already-fulfilled', reason: 'answered on chain already' },
        { item: 'b', chain: 'evm-a', as: 'cancelled', reason: 'cancelled on chain' },
        { item: 'c', chain: 'evm-a', as: 'dead', reason: 'request expired on chain' },
      ],
      reject: [],
    },
  },
  {
    case: 'a status the chain could not tell beside a pending item → still whole (the chain decides for it)',
    given: () => ({ ...published(alice, ['a', 'b']), status: { b: 'unknown' } }),
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a', 'b'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a failed status read of the first item beside a pending one → still whole',
    given: () => ({ ...published(alice, ['a', 'b']), status: { a: 'no answer' } }),
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a', 'b'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a status the chain could not tell and nothing pending → StatusUnknownError (the batch is prepared later)',
    given: () => ({ ...published(alice, ['a', 'b']), status: { a: 'fulfilled', b: 'unknown' } }),
    outcome: { throws: StatusUnknownError },
  },
  {
    case: 'a status read that fails and nothing pending → StatusUnknownError as well',
    given: () => ({ ...published(alice, ['a', 'b']), status: { a: 'no answer', b: 'fulfilled' } }),
    outcome: { throws: StatusUnknownError },
  },
  {
    case: 'a single answer (no batch signature) whose status is unknown → StatusUnknownError',
    given: () => ({ ...published(alice, ['a'], { unsigned: true }), status: { a: 'unknown' } }),
    outcome: { throws: StatusUnknownError },
  },
  {
    case: 'an item whose own proof is forged, in a batch the worker signed over it → the batch goes whole (only the batch signature is checked: it is the proof the chain reads)',
    given: () => {
      const answered = published(alice, ['a', 'b', 'c']);
      const forged = answer(alice, answered.requests[1]!, mallory);
      answered.job.results[1] = forged;
      return answered;
    },
    outcome: {
      send: [{ id: BATCH_ID, chain: 'evm-a', items: ['a', 'b', 'c'], proof: 'worker batch', attempt: 0 }],
      end: [],
      reject: [],
    },
  },
  {
    case: 'an item with a forged proof, in a batch with no batch signature → rejected with its reason; the others go as single answers',
    given: () => {
      const answered = published(alice, ['a', 'b', 'c'], { unsigned: true });
      const forged = answer(alice, answered.requests[1]!, mallory);
      answered.job.results[1] = forged;
      return answered;
    },
    outcome: {
      send: [ownProof('evm-a', 'a'), ownProof('evm-a', 'c')],
      end: [],
      reject: [{ item: 'b', reason: 'proof is not signed by the named worker' }],
    },
  },
  {
    case: 'an item whose output was changed → rejected (its own proof fails); the one left goes alone, under the job’s id',
    given: () => {
      const answered = published(alice, ['a', 'b']);
      answered.job.results[0] = { ...answered.job.results[0]!, publicOutput: '0x0bad' };
      return answered;
    },
    outcome: {
      send: [ownProof('evm-a', 'b', { id: BATCH_ID })],
      end: [],
      reject: [{ item: 'a', reason: 'proof is not signed by the named worker' }],
    },
  },
  {
    case: 'a tampered batch root → single answers, none under the batch signature',
    given: () => {
      const answered = published(alice, ['a', 'b']);
      answered.job.batch = { ...answered.job.batch!, root: STATE_ROOT };
      return answered;
    },
    outcome: { send: [ownProof('evm-a', 'a'), ownProof('evm-a', 'b')], end: [], reject: [] },
  },
  {
    case: 'items reordered after signing → single answers, in the order they came',
    given: () => {
      const answered = published(alice, ['a', 'b', 'c']);
      answered.job.results.reverse();
      return answered;
    },
    outcome: {
      send: [ownProof('evm-a', 'c'), ownProof('evm-a', 'b'), ownProof('evm-a', 'a')],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a batch signed by another key than the results’ worker → single answers',
    given: () => published(alice, ['a', 'b'], { batchSigner: mallory }),
    outcome: { send: [ownProof('evm-a', 'a'), ownProof('evm-a', 'b')], end: [], reject: [] },
  },
  {
    case: 'a worker not approved for the cluster → every answer rejected',
    given: () => ({ ...published(alice, ['a', 'b']), approved: [] }),
    outcome: {
      send: [],
      end: [],
      reject: [
        { item: 'a', reason: 'signer is not an approved, unexpired worker of the cluster' },
        { item: 'b', reason: 'signer is not an approved, unexpired worker of the cluster' },
      ],
    },
  },
  {
    case: 'a worker revoked on the Phala-style chain → every answer rejected, counted as a security refusal',
    given: () => ({ ...published(alice, ['a', 'b']), revoked: [alice] }),
    outcome: {
      send: [],
      end: [],
      reject: ['a', 'b'].map((item) => ({
        item,
        reason: `WorkerRevoked: worker ${workerOf(alice).address} was revoked on the Phala-style chain (revoked by the test)`,
        security: 'WorkerRevoked',
      })),
    },
  },
  {
    case: 'an answer to a request nobody queued → rejected; the one left goes alone, under the job’s id',
    given: () => {
      const answered = published(alice, ['a', 'b']);
      return { ...answered, queued: [answered.requests[0]!] };
    },
    outcome: {
      send: [ownProof('evm-a', 'a', { id: BATCH_ID })],
      end: [],
      reject: [{ item: 'b', reason: `no queued request ${requestJobId(EVM_A, idOf('b'))} for this result` }],
    },
  },
  {
    case: 'an answer that does not match its queued request (another contract) → rejected',
    given: () => {
      const answered = published(alice, ['a']);
      const contractId = toHex(new Uint8Array(32).fill(0xc9)) as Hex;
      return { ...answered, queued: [{ ...answered.requests[0]!, contractId }] };
    },
    outcome: {
      send: [],
      end: [],
      reject: [{ item: 'a', reason: 'result is for another contract' }],
    },
  },
  {
    case: 'an origin no destination answers → rejected',
    given: () =>
      published(alice, ['a'], {
        origin: { kind: 'evm', chainId: 1, gateway: EVM_A.gateway },
        unsigned: true,
      }),
    outcome: {
      send: [],
      end: [],
      reject: [{ item: 'a', reason: 'no destination chain is configured for this origin' }],
    },
  },
  {
    case: 'a v1 single result (an older worker, a tool) → one prepared single answer under the job’s id',
    given: () => {
      const request = requestFor('a');
      const parsed = resultBatchOf(answer(alice, request));
      if (!parsed.success) throw parsed.error;
      return { requests: [request], job: parsed.data, id: single('a') };
    },
    outcome: { send: [ownProof('evm-a', 'a')], end: [], reject: [] },
  },
  {
    case: 'one unsigned job for three destinations → single answers, each to its own chain',
    given: () => {
      const a = requestFor('a', EVM_A);
      const b = requestFor('b', EVM_B);
      const c = requestFor('c', PHALA);
      return {
        requests: [a, b, c],
        job: { v: 2, worker: workerOf(alice), results: [a, b, c].map((r) => answer(alice, r)) },
      };
    },
    outcome: {
      send: [
        ownProof('evm-a', 'a'),
        ownProof('evm-b', 'b', { origin: EVM_B }),
        ownProof('phala', 'c', { origin: PHALA }),
      ],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a “signed batch” over two gateways’ results → single answers, each to its own chain',
    given: () => {
      const a = requestFor('a', EVM_A);
      const b = requestFor('b', EVM_B);
      const results = [a, b].map((r) => answer(alice, r));
      return {
        requests: [a, b],
        job: { v: 2, worker: workerOf(alice), results, batch: batchSignature(results, alice) },
      };
    },
    outcome: {
      send: [ownProof('evm-a', 'a'), ownProof('evm-b', 'b', { origin: EVM_B })],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a batch prepared again (attempt 2) whole → the id it was given, attempt 2',
    given: () => ({ ...published(alice, ['a', 'b']), attempt: 2, id: `${BATCH_ID}${suffix(2)}` }),
    outcome: {
      send: [
        {
          id: `${BATCH_ID}${suffix(2)}`,
          chain: 'evm-a',
          items: ['a', 'b'],
          proof: 'worker batch',
          attempt: 2,
        },
      ],
      end: [],
      reject: [],
    },
  },
  {
    case: 'a batch prepared again (attempt 2) as single answers → each id carries the attempt',
    given: () => ({
      ...published(alice, ['a', 'b', 'c'], { unsigned: true }),
      attempt: 2,
      id: `${BATCH_ID}${suffix(2)}`,
      status: { c: 'fulfilled' },
    }),
    outcome: {
      send: [ownProof('evm-a', 'a', { attempt: 2 }), ownProof('evm-a', 'b', { attempt: 2 })],
      end: [{ item: 'c', chain: 'evm-a', as: 'already-fulfilled', reason: 'answered on chain already' }],
      reject: [],
    },
  },
];

describe('prepare: one worker batch → what is sent, ended and rejected', () => {
  it.each(prepareRows)('$case', async (row) => {
    const given = row.given();
    const run = prepareBatch(given.job, given.id ?? BATCH_ID, given.attempt ?? 0, readsOf(given, given));
    if ('throws' in row.outcome) await expect(run).rejects.toBeInstanceOf(row.outcome.throws);
    else expect(summary(await run, given.job)).toEqual(row.outcome);
  });

  it('the attempt suffix is `:r<n>`, none for the first preparation', () => {
    expect([0, 1, 2].map(suffix)).toEqual(['', '-r1', '-r2']);
  });

  it('every prepared batch it makes is a valid submit payload', async () => {
    const given = published(alice, ['a', 'b']);
    const { send } = await prepareBatch(given.job, BATCH_ID, 0, readsOf(given, {}));
    for (const b of send) expect(preparedBatchSchema.safeParse(b).success).toBe(true);
  });
});

// ─── confirm ────────────────────────────────────────────────────────────────────────────────────

const TIMING: ConfirmTiming = { lookEveryMs: 500, replaceAfterMs: 30_000 };
/** "Now" in the confirm tables: long before every deadline. */
const NOW = 1_800_000_000_000;
const TX: Hex = `0x${'ab'.repeat(32)}`;

function preparedOf(answered: Answered, id: string): PreparedBatch {
  return {
    id,
    chain: 'evm-a',
    worker: answered.job.worker,
    items: answered.requests.map((request, i) => ({ request, result: answered.job.results[i]! })),
    root: answered.job.batch?.root ?? null,
    signature: answered.job.batch?.signature ?? null,
    attempt: 0,
  };
}

/** Two workers' batches in one transaction: alice answers a, b; bob answers c. */
const twoWorkers = [
  preparedOf(published(alice, ['a', 'b']), 'batch-alice'),
  preparedOf(published(bob, ['c']), 'batch-bob'),
];
/** After every request's deadline (2033). */
const LATE = (DEADLINE + 1) * 1000;
/** The transaction, last sent `lastSentMsAgo` before `now` (first sent `sentMsAgo` before it). */
const sentTx = (lastSentMsAgo: number, sentMsAgo = lastSentMsAgo, now = NOW): SentTransaction => ({
  chain: 'evm-a',
  signer: workerOf(bob).address,
  nonce: 7,
  hashes: [TX],
  raw: '0x02',
  fees: { maxFeePerGas: '2', maxPriorityFeePerGas: '1' },
  sentAt: now - sentMsAgo,
  lastSentAt: now - lastSentMsAgo,
});
const final = (items: Record<string, ItemResult>): TransactionCheck => ({
  kind: 'final',
  txHash: TX,
  blockNumber: 12,
  gasUsed: 90_000n,
  items: new Map(Object.entries(items).map(([label, r]) => [idOf(label).toLowerCase(), r])),
});
const delivered: ItemResult = { kind: 'delivered', callbackFailed: false };

type ConfirmRow = {
  case: string;
  check: TransactionCheck;
  sent?: SentTransaction;
  batches?: PreparedBatch[];
  now?: number;
  outcome: ConfirmOutcome;
};

const confirmRows: ConfirmRow[] = [
  {
    case: 'pending, the node holds it, sent a second ago → look again',
    check: { kind: 'pending', known: true },
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'pending, the node lost it → broadcast its signed bytes again, look again',
    check: { kind: 'pending', known: false },
    outcome: { kind: 'wait', ms: 500, did: 'rebroadcast' },
  },
  {
    case: 'pending, stuck for replaceAfterMs → replaced with a higher fee (same nonce), look again',
    check: { kind: 'pending', known: true },
    sent: sentTx(30_000),
    outcome: { kind: 'wait', ms: 500, did: 'replaced' },
  },
  {
    case: 'pending, just under replaceAfterMs → only look again',
    check: { kind: 'pending', known: true },
    sent: sentTx(29_999),
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'pending, first sent long ago but replaced a second ago → the stuck clock restarted',
    check: { kind: 'pending', known: true },
    sent: sentTx(1_000, 120_000),
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'pending, lost by the node, every deadline passed → rebroadcast, looked at 10× less often (never abandoned: its nonce would block the signer)',
    check: { kind: 'pending', known: false },
    now: LATE,
    outcome: { kind: 'wait', ms: 5_000, did: 'rebroadcast' },
  },
  {
    case: 'pending, stuck, every deadline passed → still replaced (the nonce must be used)',
    check: { kind: 'pending', known: true },
    sent: sentTx(30_000, 30_000, LATE),
    now: LATE,
    outcome: { kind: 'wait', ms: 5_000, did: 'replaced' },
  },
  {
    case: 'pending, held by the node, every deadline passed → look again, 10× less often',
    check: { kind: 'pending', known: true },
    sent: sentTx(1_000, 1_000, LATE),
    now: LATE,
    outcome: { kind: 'wait', ms: 5_000 },
  },
  {
    case: 'pending, one request’s deadline passed but not another’s → still waiting',
    check: { kind: 'pending', known: true },
    batches: [
      {
        ...twoWorkers[1]!,
        items: [{ ...twoWorkers[1]!.items[0]!, request: { ...requestFor('c'), deadline: 1 } }],
      },
      twoWorkers[0]!,
    ],
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'mined, not yet at depth → look again',
    check: { kind: 'mined', blockNumber: 12 },
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'mined after every deadline, not yet at depth → still waiting (it may have landed in time)',
    check: { kind: 'mined', blockNumber: 12 },
    now: LATE,
    outcome: { kind: 'wait', ms: 500 },
  },
  {
    case: 'reverted as a whole → every batch back to prepare, with the reason',
    check: { kind: 'reverted', txHash: TX, reason: 'the gateway reverted the whole call' },
    outcome: { kind: 'reprepare', reason: `transaction ${TX} reverted: the gateway reverted the whole call` },
  },
  {
    case: 'its nonce used by another transaction → every batch back to prepare',
    check: { kind: 'replaced' },
    outcome: { kind: 'reprepare', reason: 'nonce 7 was used by another transaction, or lost behind a gap' },
  },
  {
    case: 'final, every item delivered → confirmed',
    check: final({ a: delivered, b: delivered, c: delivered }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 3, ended: 0, reprepared: 0 },
  },
  {
    case: 'final, a consumer’s callback failed → delivered all the same (the request is answered)',
    check: final({ a: delivered, b: { kind: 'delivered', callbackFailed: true }, c: delivered }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 3, ended: 0, reprepared: 0 },
  },
  {
    case: 'final, an item answered by someone else first → ended',
    check: final({ a: delivered, b: { kind: 'not-pending' }, c: delivered }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 2, ended: 1, reprepared: 0 },
  },
  {
    case: 'final, an item refused for now (retryable) → prepared again',
    check: final({
      a: delivered,
      b: delivered,
      c: { kind: 'refused', code: 'WorkerNotAuthorized', retryable: true },
    }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 2, ended: 0, reprepared: 1 },
  },
  {
    case: 'final, an item refused for good → ended (dead-lettered with its code)',
    check: final({
      a: { kind: 'refused', code: 'CommitmentMismatch', retryable: false },
      b: delivered,
      c: delivered,
    }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 2, ended: 1, reprepared: 0 },
  },
  {
    case: 'final, an item computed on state that moved on → ended here (its request runs again)',
    check: final({ a: delivered, b: { kind: 'rerun', reason: 'state moved on' }, c: delivered }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 2, ended: 1, reprepared: 0 },
  },
  {
    case: 'final, an item the chain said nothing about → prepared again',
    check: final({ a: delivered, b: delivered }),
    outcome: { kind: 'confirmed', txHash: TX, delivered: 2, ended: 0, reprepared: 1 },
  },
  {
    case: 'final after every deadline → still confirmed by the chain’s answer (a mined answer counts)',
    check: final({ a: delivered, b: delivered, c: delivered }),
    now: LATE,
    outcome: { kind: 'confirmed', txHash: TX, delivered: 3, ended: 0, reprepared: 0 },
  },
];

describe('confirm: one look at a sent transaction → wait, confirmed or reprepare', () => {
  it.each(confirmRows)('$case', (row) => {
    expect(
      confirmDecision(
        row.check,
        row.sent ?? sentTx(1_000),
        row.batches ?? twoWorkers,
        TIMING,
        row.now ?? NOW,
      ),
    ).toEqual(row.outcome);
  });

  const check = final({ a: delivered, b: { kind: 'not-pending' } }) as Extract<
    TransactionCheck,
    { kind: 'final' }
  >;
  const item = (label: string, requestId: Hex = idOf(label)): SubmitItem => ({
    ...twoWorkers[0]!.items[0]!,
    request: { ...requestFor(label), requestId },
  });
  it.each([
    { case: 'an item by its request id', item: item('a'), outcome: delivered },
    {
      case: 'an item whose id is written in capitals',
      item: item('b', `0x${idOf('b').slice(2).toUpperCase()}`),
      outcome: { kind: 'not-pending' },
    },
    {
      case: 'an item the chain said nothing about → refused for now, NoResult',
      item: item('c'),
      outcome: { kind: 'refused', code: 'NoResult', retryable: true },
    },
  ])('itemResultOf: $case', ({ item, outcome }) => {
    expect(itemResultOf(check, item)).toEqual(outcome);
  });
});

// ─── the gateway's per-item codes ───────────────────────────────────────────────────────────────

const codeRows: { code: FulfillResult; outcome: ItemResult }[] = [
  { code: 'Delivered', outcome: { kind: 'delivered', callbackFailed: false } },
  { code: 'CallbackFailed', outcome: { kind: 'delivered', callbackFailed: true } },
  { code: 'NotPending', outcome: { kind: 'not-pending' } },
  { code: 'CommitmentMismatch', outcome: { kind: 'refused', code: 'CommitmentMismatch', retryable: false } },
  { code: 'Expired', outcome: { kind: 'refused', code: 'Expired', retryable: false } },
  { code: 'WorkerNotAuthorized', outcome: { kind: 'refused', code: 'WorkerNotAuthorized', retryable: true } },
];

describe('EVM gateway: each FulfillResult code → what happened to the item', () => {
  it.each(codeRows)('$code', ({ code, outcome }) => {
    expect(itemResultOfCode(code)).toEqual(outcome);
  });

  it('the table names every code the gateway has', () => {
    expect(codeRows.map((r) => r.code).sort()).toEqual([...fulfillResults].sort());
  });
});

// ─── submit (real Redis, real BullMQ) ───────────────────────────────────────────────────────────

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const prefix = `{${uniquePrefix('stages')}}`;
const queues = new RelayerQueues(redis, prefix);
const journeys = new JourneyStore({ redis, prefix });
const logger = pino({ level: 'silent' });
const stages: SubmitStage[] = [];
const leases: Lease[] = [];

afterAll(async () => {
  await Promise.all(stages.map((s) => s.drain()));
  await Promise.all(leases.map((l) => l.release()));
  await Promise.all(queues.opened().map((q) => q.obliterate({ force: true })));
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

let chains = 0;
/** A submit stage for a fresh chain, holding its lease, with an in-memory destination. */
async function submitStage(batch?: { maxSize: number; maxDelayMs: number }) {
  const chain = `mem-${++chains}`;
  const destination = new MemoryDestination(chain, [EVM_A], batch);
  const submitQueue = queues.submit(chain);
  const confirmQueue = queues.confirm(chain);
  destination.confirmQueue = confirmQueue;
  const lease = new Lease({ redis, key: redisKey(prefix, 'lease', 'submit', chain) });
  leases.push(lease);
  expect(await lease.tryAcquire()).toBe(true);
  const metrics = createRelayerMetrics();
  const stage = new SubmitStage({
    destination,
    lease,
    submitQueue,
    confirmQueue,
    redis,
    prefix,
    journeys,
    outcomes: new ItemOutcomes({
      journeys,
      pending: new PendingIndex(redis, prefix),
      confirmed: new RecentlyConfirmed(redis, prefix),
      metrics,
      logger,
      rerun: async () => {},
    }),
    metrics,
    logger,
    firstLookMs: 60_000,
  });
  stages.push(stage);
  /** Queues prepared batches as prepare would, and runs each job through the stage at once. */
  const submit = async (...batches: PreparedBatch[]): Promise<SubmitOutcome[]> => {
    const jobs: Job[] = [];
    for (const b of batches) jobs.push(await submitQueue.add('submit', b, { jobId: b.id }));
    return Promise.all(jobs.map((j) => stage.process(j)));
  };
  return { chain, destination, submitQueue, confirmQueue, lease, stage, submit };
}

let batches = 0;
/** A prepared batch of `size` answers by `worker`: signed as the worker's batch, or a single answer. */
function prepared(worker: KeyPair, size: number, options: { unsigned?: boolean; deadline?: number } = {}) {
  const n = ++batches;
  const names = Array.from({ length: size }, (_, i) => `s${n}.${i}`);
  const answered = published(worker, names, { unsigned: options.unsigned ?? false });
  if (options.deadline !== undefined)
    answered.requests = answered.requests.map((r) => ({ ...r, deadline: options.deadline! }));
  return preparedOf(answered, `prepared-${n}`);
}
const lastStage = async (item: SubmitItem) =>
  (await journeys.entries(requestJobId(item.request.origin, item.request.requestId))).at(-1);

describe('submit: prepared batches → transactions (real Redis and BullMQ, in-memory chain)', () => {
  it('batches that may share go in one transaction, up to batch.maxSize items', async () => {
    const { destination, submit } = await submitStage({ maxSize: 4, maxDelayMs: 30 });
    const [one, two, three] = [prepared(alice, 2), prepared(bob, 2), prepared(alice, 2)];
    const outcomes = await submit(one, two, three);
    expect(destination.sends).toEqual([[one.id, two.id], [three.id]]);
    expect(outcomes.map((o) => o.kind === 'sent' && o.batches)).toEqual([2, 2, 1]);
    const [a, b, c] = outcomes as Extract<SubmitOutcome, { kind: 'sent' }>[];
    expect(a!.txHash).toBe(b!.txHash);
    expect(c!.txHash).not.toBe(a!.txHash);
    const entry = await lastStage(one.items[0]!);
    expect(entry).toMatchObject({ stage: 'submitted', txHash: a!.txHash, detail: '2 batch(es), 4 items' });
  });

  it('a lone batch after a quiet window goes after the linger; batches that keep coming wait the window and share a transaction', async () => {
    const { destination, submit } = await submitStage({ maxSize: 16, maxDelayMs: 600 });
    const started = Date.now();
    const lone = prepared(alice, 2);
    await submit(lone);
    expect(Date.now() - started).toBeLessThan(400);
    expect(destination.sends).toEqual([[lone.id]]);
    // Now a stream: each batch comes 100 ms after the last, well within the window.
    const stream = [prepared(alice, 2), prepared(bob, 2), prepared(alice, 2)];
    const outcomes = await Promise.all(
      stream.map(async (b, i) => {
        await new Promise((r) => setTimeout(r, i * 100));
        return submit(b);
      }),
    );
    expect(outcomes.flat().map((o) => o.kind)).toEqual(['sent', 'sent', 'sent']);
    expect(destination.sends.slice(1)).toEqual([stream.map((b) => b.id)]);
  });

  it('a batch that would pass maxSize waits for the next transaction', async () => {
    const { destination, submit } = await submitStage({ maxSize: 4, maxDelayMs: 30 });
    const [three, two] = [prepared(alice, 3), prepared(bob, 2)];
    await submit(three, two);
    expect(destination.sends).toEqual([[three.id], [two.id]]);
  });

  it('single answers (no batch signature) go alone, and never join a signed batch', async () => {
    const { destination, submit } = await submitStage({ maxSize: 8, maxDelayMs: 30 });
    const singles = [prepared(alice, 1, { unsigned: true }), prepared(bob, 1, { unsigned: true })];
    const signed = prepared(alice, 2);
    const outcomes = await submit(...singles, signed);
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent', 'sent']);
    expect(destination.sends).toEqual([[singles[0]!.id], [singles[1]!.id], [signed.id]]);
  });

  it('the confirm job is written before the transaction leaves, with the batches it carries', async () => {
    const { destination, confirmQueue, submit } = await submitStage();
    const batch = prepared(alice, 2);
    const [outcome] = await submit(batch);
    expect(destination.handedOverFirst).toEqual([true]);
    const sent = outcome as Extract<SubmitOutcome, { kind: 'sent' }>;
    const job = await confirmQueue.getJob(`${destination.chain}-${sent.nonce}-${sent.txHash.slice(2, 18)}`);
    const parsed = confirmJobSchema.parse(job!.data);
    expect(parsed.batches.map((b) => b.id)).toEqual([batch.id]);
    expect(parsed.sent.hashes).toEqual([sent.txHash]);
    expect(await job!.isDelayed()).toBe(true);
  });

  it('a batch sent before (its sent mark and confirm job exist) → resent, never sent twice', async () => {
    const { destination, submitQueue, stage, submit } = await submitStage();
    const batch = prepared(alice, 2);
    const [first] = await submit(batch);
    expect(first!.kind).toBe('sent');
    // The same submit job run again, as after a crash between broadcast and completion.
    const again = await stage.process((await submitQueue.getJob(batch.id))!);
    expect(again).toEqual({
      kind: 'resent',
      confirmJob: expect.stringMatching(/^mem-\d+-\d+-[0-9a-f]{16}$/),
    });
    expect(destination.sends).toEqual([[batch.id]]);
  });

  it('a broadcast that fails after the hand-over → its confirm job and sent mark are removed; a retry sends again', async () => {
    const { destination, confirmQueue, submitQueue, stage, submit } = await submitStage();
    const batch = prepared(alice, 2);
    destination.failBroadcast = new SubmitterError('the node refused the transaction');
    await expect(submit(batch)).rejects.toBeInstanceOf(SubmitterError);
    expect(await confirmQueue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
    expect(await redis.get(redisKey(prefix, 'sent', destination.chain, batch.id))).toBeNull();
    destination.failBroadcast = undefined;
    const again = await stage.process((await submitQueue.getJob(batch.id))!);
    expect(again.kind).toBe('sent');
    expect(destination.sends).toEqual([[batch.id], [batch.id]]);
    expect(await confirmQueue.getJobCounts('delayed')).toEqual({ delayed: 1 });
  });

  it('every deadline passed → ended, each request dead-lettered, nothing sent', async () => {
    const { destination, submit } = await submitStage();
    const batch = prepared(alice, 2, { deadline: Math.floor(Date.now() / 1000) - 1 });
    expect(await submit(batch)).toEqual([{ kind: 'ended', reason: 'deadline passed' }]);
    expect(destination.sends).toEqual([]);
    for (const item of batch.items)
      expect(await lastStage(item)).toMatchObject({ stage: 'dead', detail: 'deadline passed' });
  });

  it('a signed batch the chain refuses for good → split into single-answer submit jobs', async () => {
    const { destination, submitQueue, submit } = await submitStage();
    const batch = prepared(alice, 2);
    destination.refuse = (bs) =>
      bs.some((b) => b.id === batch.id)
        ? new SubmitterError('could not send', { cause: new GatewayRejectedError('MalformedBatch') })
        : undefined;
    const [outcome] = await submit(batch);
    expect(outcome).toEqual({ kind: 'split', reason: 'gateway rejected the transaction: MalformedBatch' });
    const parts = await Promise.all([0, 1].map((i) => submitQueue.getJob(`${batch.id}/${i}`)));
    expect(parts.map((j) => j?.data as PreparedBatch)).toEqual(
      batch.items.map((item, i) => ({
        ...batch,
        id: `${batch.id}/${i}`,
        items: [item],
        root: null,
        signature: null,
      })),
    );
  });

  it('a single answer the chain refuses for good → ended, its request dead-lettered with the reason', async () => {
    const { destination, submit } = await submitStage();
    const batch = prepared(alice, 1, { unsigned: true });
    destination.refuse = () => new GatewayRejectedError('CommitmentMismatch');
    const [outcome] = await submit(batch);
    expect(outcome).toEqual({
      kind: 'ended',
      reason: 'gateway rejected the transaction: CommitmentMismatch',
    });
    expect(await lastStage(batch.items[0]!)).toMatchObject({
      stage: 'dead',
      chain: destination.chain,
      detail: 'gateway: gateway rejected the transaction: CommitmentMismatch',
    });
  });

  it('one batch the chain refuses does not sink the others in its transaction', async () => {
    const { destination, submitQueue, submit } = await submitStage({ maxSize: 8, maxDelayMs: 30 });
    const good = prepared(bob, 2);
    const bad = prepared(alice, 2);
    destination.refuse = (bs) =>
      bs.some((b) => b.id === bad.id) ? new GatewayRejectedError('MalformedBatch') : undefined;
    const outcomes = await submit(good, bad);
    expect(destination.sends).toEqual([[good.id, bad.id], [good.id], [bad.id]]);
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'split']);
    expect(await submitQueue.getJob(`${bad.id}/0`)).toBeDefined();
  });

  it('a failure a retry can help (node down) → the job throws it, nothing split or ended', async () => {
    const { destination, submitQueue, submit } = await submitStage();
    const batch = prepared(alice, 2);
    destination.refuse = () => new SubmitterError('the node did not answer');
    await expect(submit(batch)).rejects.toBeInstanceOf(SubmitterError);
    expect(await submitQueue.getJob(`${batch.id}/0`)).toBeUndefined();
    expect((await lastStage(batch.items[0]!))?.stage).not.toBe('dead');
  });

  it('a process that lost the submit lease sends nothing (LeaseLostError, a retry can help)', async () => {
    const { destination, lease, submit } = await submitStage();
    await lease.release();
    const error = await submit(prepared(alice, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as BaseError).retry).toBe('retry');
    expect(destination.sends).toEqual([]);
  });

  it('a malformed submit payload is refused for good (no retry)', async () => {
    const { submitQueue, stage } = await submitStage();
    const job = await submitQueue.add('submit', { id: 'x' }, { jobId: 'malformed' });
    const error = await stage.process(job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/^submit payload: /);
  });
});
