import { type Hex, concatBytes, equalBytes, fromHex, toHex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { blockOfEvmRequestNonce, computeRequestCommitment } from '../../evm/request-id.js';
import { GATEWAY_SLOTS } from '../../evm/gateway/storage-slots.js';
import {
  type ProvenContract,
  type ProvenContractState,
  contractStateStorageKey,
  contractStorageKey,
  decodeProvenContract,
  decodeProvenContractState,
  decodeProvenRequest,
  requestStorageKey,
  resultStorageKey,
} from '../../phala/proven-storage.js';
import type { RequestJob } from '../../protocol/request-job.js';
import { RequestDeferredError, RequestRejectedError, WorkerError } from './errors.js';

/**
 * A request exists on its origin chain before any worker runs it (docs/ARCHITECTURE.md#trust-model).
 * The job in the queue is only a hint of where to look: the worker reads the request from its own
 * verified view of the origin chain — the Phala-style chain through its GRANDPA light client and
 * storage read proofs, an EVM chain through storage proofs against a header that a quorum of its
 * own RPC endpoints agrees on — and compares every field the job carries with what the chain
 * holds. The contract's code hash, cluster and committed state are read in the same verified
 * read, so an RPC node can neither invent a request nor hand back an old state.
 */

/** The worker's view of the Phala-style chain, every answer verified (a light client). */
export interface VerifiedPhalaView {
  /**
   * The latest verified finalized block, synced first when it is older than `minBlock` (the
   * block the relayer says it saw the request in; it may lie, so this never waits for it).
   */
  head(minBlock: number): Promise<{ number: number; hash: Hex }>;
  /** Values at a verified block, from a verified read proof (null: proven absent). */
  read(keys: Uint8Array[], at: Hex): Promise<Map<Hex, Uint8Array | null>>;
}

/** The worker's view of an EVM chain: storage slots proven against a quorum-agreed header. */
export interface VerifiedEvmView {
  /**
   * `atLeast`: the block the relayer says it saw the request in. A hint only: the view fetches a
   * newer header when its own is older (instead of deferring the job), and believes nothing of it.
   */
  readSlots(
    address: Hex,
    slots: Hex[],
    atLeast?: number,
  ): Promise<{ blockNumber: number; values: Map<Hex, Hex> }>;
}

/** What a verified request comes with: the contract and its state as the Phala-style chain holds them. */
export type VerifiedRequest = {
  contract: ProvenContract;
  state: ProvenContractState | null;
  /** The verified Phala-style block they were read at. */
  phalaBlock: { number: number; hash: Hex };
  /**
   * The origin-chain block the request was proven pending in: the EVM block whose header the
   * quorum agreed on and whose storage proof holds the commitment, or (Phala-style and XCM) the
   * verified finalized block whose read proof holds the request. Never the relayer's `observed`
   * claim: this is the block a contract is shown (docs/wasm-host-interface.md, context field 5).
   */
  originBlock: number;
};

export type RequestOnChainParameters = {
  phala: VerifiedPhalaView;
  /** One view per EVM chain id this worker answers; a chain without one is refused. */
  evm: ReadonlyMap<number, VerifiedEvmView>;
  /** Index of the `Xcm` variant of `RequestOrigin` (the `Signed` variant is 0). */
  xcmOriginIndex: number | null;
};

const SIGNED_ORIGIN_INDEX = 0;

/**
 * How far the worker's verified view may trail the block the relayer says it saw a request in
 * before the absence counts: within it the job waits (the worker's endpoints may lag the
 * relayer's); beyond it the claim is not believed, so a forged block number cannot park a job.
 */
export const MAX_VIEW_LAG_BLOCKS = 64;

function behind(view: number, observed: number, where: string): void {
  if (view < observed && observed - view <= MAX_VIEW_LAG_BLOCKS)
    throw new RequestDeferredError(
      'origin-not-final',
      `${where}: the verified chain is at ${view}, the request was seen at ${observed}`,
    );
}

function refuse(
  reason: 'RequestNotOnChain' | 'RequestFieldMismatch' | 'RequestNotPending',
  detail: string,
): never {
  throw new RequestRejectedError(reason, detail);
}

export class RequestOnChain {
  readonly #p: RequestOnChainParameters;

  constructor(parameters: RequestOnChainParameters) {
    this.#p = parameters;
  }

  /**
   * Checks `request` against its origin chain and returns the contract and state to run it on.
   * Throws RequestRejectedError with `RequestNotOnChain`, `RequestFieldMismatch` or
   * `RequestNotPending`; RequestDeferredError when the worker's verified view is still behind
   * the block the request was seen in.
   */
  async verify(request: RequestJob): Promise<VerifiedRequest> {
    const started = performance.now();
    try {
      if (request.origin.kind === 'evm') {
        // The EVM read and the Phala-style read are independent: made at once.
        const [evmBlock, verified] = await Promise.all([
          this.#verifyEvm(request),
          this.#readContract(request, false),
        ]);
        return { ...verified, originBlock: evmBlock };
      }
      const verified = await this.#readContract(request, true);
      return { ...verified, originBlock: verified.phalaBlock.number };
    } finally {
      this.stats.checks++;
      this.stats.totalMicros += Math.round((performance.now() - started) * 1_000);
    }
  }

  /** Checks made and the wall time they took (`WorkerService.verification`, the bench). */
  readonly stats = { checks: 0, totalMicros: 0 };

  /**
   * One verified read at the Phala-style chain's latest verified finalized block: the contract
   * and its state, and for requests that live on this chain (Phala-style and XCM origins) the
   * request itself and whether it was already answered.
   */
  async #readContract(request: RequestJob, onPhala: boolean): Promise<Omit<VerifiedRequest, 'originBlock'>> {
    const requestId = fromHex(request.requestId, 'requestId', 32);
    const contractId = fromHex(request.contractId, 'contractId', 32);
    const minBlock = onPhala ? request.observed.blockNumber : 0;
    const head = await this.#p.phala.head(minBlock);
    const keys = [contractStorageKey(contractId), contractStateStorageKey(contractId)];
    if (onPhala) keys.push(requestStorageKey(requestId), resultStorageKey(requestId));
    const values = await this.#p.phala.read(keys, head.hash);
    const value = (key: Uint8Array) => values.get(toHex(key).toLowerCase() as Hex) ?? null;
    if (onPhala) this.#checkPhalaRequest(request, value(keys[2]!), value(keys[3]!) !== null, head.number);
    const contractBytes = value(keys[0]!);
    // A gateway may learn of a contract before this worker's view of the Phala-style chain shows
    // it: not a forgery, so retried (with backoff, until the deadline) rather than refused.
    if (!contractBytes)
      throw new WorkerError(
        "The contract is not on the Phala-style chain (in this worker's verified view).",
        {
          details: `${request.contractId} at finalized block ${head.number}`,
        },
      );
    const contract = decodeProvenContract(contractBytes);
    if (contract.cluster.toLowerCase() !== request.cluster.toLowerCase())
      refuse(
        'RequestFieldMismatch',
        `cluster: the chain has ${contract.cluster}, the job ${request.cluster}`,
      );
    const stateBytes = value(keys[1]!);
    return {
      contract,
      state: stateBytes ? decodeProvenContractState(stateBytes) : null,
      phalaBlock: head,
    };
  }

  #checkPhalaRequest(request: RequestJob, stored: Uint8Array | null, answered: boolean, head: number): void {
    const where = `PhalaContracts.Requests(${request.requestId}) at finalized block ${head}`;
    if (!stored) {
      if (answered) refuse('RequestNotPending', `${request.requestId} was already fulfilled`);
      behind(head, request.observed.blockNumber, 'Phala-style chain');
      refuse('RequestNotOnChain', `${where} is absent`);
    }
    const decoded = decodeProvenRequest(stored, this.#originBytes(request), blake2_256);
    if (decoded.origin === null)
      refuse('RequestFieldMismatch', `origin/requester: ${where} has another origin`);
    const mismatch = (field: string, chain: string, job: string) =>
      refuse('RequestFieldMismatch', `${field}: ${where} has ${chain}, the job ${job}`);
    if (decoded.contractId.toLowerCase() !== request.contractId.toLowerCase())
      mismatch('contractId', decoded.contractId, request.contractId);
    const inputHash = blake2_256(fromHex(request.sealedInput, 'sealedInput'));
    if (!equalBytes(decoded.sealedInputHash, inputHash))
      mismatch('sealedInput', toHex(decoded.sealedInputHash), toHex(inputHash));
    if (decoded.responseKey.toLowerCase() !== request.responseKey.toLowerCase())
      mismatch('responseKey', decoded.responseKey, request.responseKey);
    if (decoded.nonce !== BigInt(request.nonce)) mismatch('nonce', String(decoded.nonce), request.nonce);
    // The deadline on this chain is a block number; the job's is the relayer's estimate in seconds.
    if (decoded.deadline < head)
      refuse('RequestNotPending', `${where}: its deadline block ${decoded.deadline} passed`);
  }

  /** `RequestOrigin` as the chain encodes it: `Signed(AccountId32)` or `Xcm(Location)`. */
  #originBytes(request: RequestJob): Uint8Array {
    const requester = fromHex(request.requester, 'requester');
    if (request.origin.kind === 'phala') return concatBytes(Uint8Array.of(SIGNED_ORIGIN_INDEX), requester);
    if (this.#p.xcmOriginIndex === null)
      throw new RequestRejectedError('unsupported-origin', 'the chain takes no requests from XCM origins');
    return concatBytes(Uint8Array.of(this.#p.xcmOriginIndex), requester);
  }

  /**
   * The gateway keeps, per pending request, `commitment = keccak256(contractId, requester,
   * callbackGasLimit, deadline)` under its request id, and the id covers chain, gateway, nonce,
   * requester, contract and input hash (checked against the fields before this): the proven
   * commitment therefore covers every field of the job. Returns the EVM block it was proven in.
   */
  async #verifyEvm(request: RequestJob): Promise<number> {
    if (request.origin.kind !== 'evm') throw new WorkerError('Not an EVM request.');
    const { chainId, gateway } = request.origin;
    const view = this.#p.evm.get(chainId);
    if (!view)
      throw new RequestRejectedError(
        'unsupported-origin',
        `no verified view of EVM chain ${chainId} configured`,
      );
    const commitmentSlot = GATEWAY_SLOTS.commitment(request.requestId);
    const { blockNumber, values } = await view.readSlots(
      gateway,
      [commitmentSlot],
      request.observed.blockNumber,
    );
    const where = `gateway ${gateway} on chain ${chainId} at block ${blockNumber}`;
    const stored = BigInt(values.get(commitmentSlot) ?? '0x0');
    if (stored === 0n) {
      behind(blockNumber, request.observed.blockNumber, `EVM chain ${chainId}`);
      // The nonce names the block the request was made in. At or before the proven block: a
      // request with these fields is gone (answered or cancelled) or never existed. After it: no
      // such request yet, and the relayer's block claim was not believed.
      if (blockOfEvmRequestNonce(BigInt(request.nonce)) <= BigInt(blockNumber))
        refuse(
          'RequestNotPending',
          `no pending request ${request.requestId} in ${where} (answered, cancelled or never made)`,
        );
      refuse('RequestNotOnChain', `no request ${request.requestId} in ${where}`);
    }
    const expected = computeRequestCommitment({
      contractId: request.contractId,
      requester: request.requester,
      callbackGasLimit: request.callbackGasLimit ?? 0,
      deadline: BigInt(request.deadline),
    });
    if (BigInt(expected) !== stored)
      refuse(
        'RequestFieldMismatch',
        `contractId/requester/callbackGasLimit/deadline: ${where} commits to ${toHex32(stored)}, the job's fields give ${expected}`,
      );
    return blockNumber;
  }
}

function toHex32(value: bigint): Hex {
  return `0x${value.toString(16).padStart(64, '0')}`;
}
