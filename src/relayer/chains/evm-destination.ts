import { type Address, type Client, type Hex, parseTransaction } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlockNumber, getTransactionCount } from 'viem/actions';
import { InvalidInputError, errorMessage } from '../../base/errors.js';
import { gatewayFailure } from '../../evm/gateway/decode-error.js';
import { encodeFulfill, encodeFulfillBatch, encodeFulfillBatches } from '../../evm/gateway/fulfill.js';
import { fulfillmentOutcomes } from '../../evm/gateway/fulfillment-outcomes.js';
import { getGatekeeperSet, isRequestPending, isWorkerAuthorized } from '../../evm/gateway/read.js';
import { fulfillmentGasBound } from '../../evm/gateway/fulfillment-gas.js';
import { encodeRevokeWorker, encodeUpdateGatekeepers } from '../../evm/gateway/registry.js';
import {
  submitContractRegistration,
  submitWorkerRegistration,
} from '../../evm/submitter/submit-registration.js';
import {
  EvmSubmitter,
  type SentTransaction as SubmitterSentTransaction,
} from '../../evm/submitter/submitter.js';
import type { FulfillResult, FulfillmentInput, GatekeeperSet } from '../../evm/types.js';
import type { EvmSignatureCollector } from '../../gatekeeper/evm/collector.js';
import type { Origin } from '../../protocol/origin.js';
import type { RequestJob } from '../../protocol/request-job.js';
import type {
  Destination,
  ItemResult,
  PreparedBatch,
  RequestStatus,
  SentTransaction,
  SubmitItem,
  TransactionCheck,
} from '../ports.js';
import { CarryFailedError } from '../carry-queue.js';
import { type EvmChainParameters, evmClient, evmOrigin } from './evm-origin.js';

/**
 * One EVM chain's PhalaBridgeGateway as a destination: prepared worker batches go out as
 * `fulfill` (a single answer), `fulfillBatch` or `fulfillBatches` (several workers' signed batches
 * in one transaction), each with the signer's next nonce, without waiting; `check` reads the
 * outcome of each item from the gateway's events once the transaction is at depth. It also
 * carries gatekeeper-signed registrations to the gateway.
 */
export type EvmDestinationParameters = EvmChainParameters & {};

/**
 * Whether a transaction is simulated (one `eth_call` at its gas bound) before it is sent. The
 * gateway reverts signed batches only for faults of the sender (an empty or malformed batch, too
 * little gas for a callback), which the encoder and `fulfillmentGasBound` rule out, so a first
 * attempt of signed batches goes without: one run of the whole batch fewer on the node. A single
 * answer reverts for its own faults (answered already, expired, a signer not authorized), and a
 * batch back from a revert (`attempt` > 0) may have met a bound that fell short: both are
 * simulated, and priced by the node when the bound is not enough.
 */
export function simulateFirst(batches: readonly Pick<PreparedBatch, 'signature' | 'attempt'>[]): boolean {
  return batches.some((b) => b.signature === null || b.attempt > 0);
}

export class EvmDestination implements Destination {
  readonly chain: string;
  readonly batch: { maxSize: number; maxDelayMs: number };
  readonly timing: { lookEveryMs: number; replaceAfterMs: number };
  readonly #p: EvmDestinationParameters;
  readonly #client: Client;
  readonly #origin: Extract<Origin, { kind: 'evm' }>;
  readonly #submitter: EvmSubmitter;
  readonly #carried = new Set<string>();
  readonly #confirmations: number;
  /** Our transactions unmined at once, at most (pipelined nonces). */
  readonly #maxInFlight = 16;

  constructor(parameters: EvmDestinationParameters) {
    const { config } = parameters;
    if (!config.signer) throw new Error(`chain ${config.name}: a signer is required to submit fulfillments`);
    this.#p = parameters;
    this.chain = config.name;
    this.batch = config.batch;
    // Receipts are looked for as often as the chain is watched, at least every second.
    this.timing = {
      lookEveryMs: Math.min(config.pollIntervalMs, 1_000),
      replaceAfterMs: config.replaceAfterMs,
    };
    this.#client = parameters.client ?? evmClient(config);
    this.#origin = evmOrigin(config);
    const confirmations = typeof config.confirmations === 'number' ? Math.max(config.confirmations, 1) : 1;
    this.#confirmations = confirmations;
    this.#submitter = new EvmSubmitter({
      client: this.#client,
      chainId: config.chainId,
      account: privateKeyToAccount(config.signer.reveal() as Hex),
      redis: parameters.redis,
      keyPrefix: parameters.keyPrefix,
      fees: { maxFeePerGasCap: BigInt(Math.round(config.maxFeePerGasGwei * 1e9)) },
      confirmations,
      // Receipts are looked for as often as the chain is watched, at least every second.
      pollIntervalMs: Math.min(config.pollIntervalMs, 1_000),
      stuckAfterMs: config.replaceAfterMs,
      onEvent: (event) => {
        if (event.kind === 'replaced')
          this.#p.metrics.submissions.inc({ chain: this.chain, kind: 'replacement', outcome: 'sent' });
      },
    });
  }

  /**
   * After a reorg our transactions there may be gone and the stored nonce ahead of the chain:
   * start again from the chain's count rather than wait for a stuck transaction to show it.
   */
  async afterReorg(): Promise<void> {
    await this.#submitter.nonces.reconcile();
  }

  /**
   * Carries gatekeeper-signed registrations (workers, contracts, revocations) that reached the
   * gateway's threshold to the gateway; what the gateway already holds is skipped. `gatekeepers`:
   * the gateway's set as last read (the carrier keeps it fresh off the watcher's path). Throws
   * `CarryFailedError` after trying every item when one failed, so the carrier retries.
   */
  async carryRegistrations(collector: EvmSignatureCollector, gatekeepers?: GatekeeperSet): Promise<number> {
    const gateway = { chainId: BigInt(this.#origin.chainId), gateway: this.#origin.gateway };
    const set = gatekeepers ?? (await getGatekeeperSet(this.#client, { gateway: this.#origin.gateway }));
    let carried = 0;
    let failed: { kind: string; error: unknown } | undefined;
    // Revocations first: a revoked worker must stop being authorised before anything else lands.
    const readyItems = collector.ready(gateway, set.threshold, set.members);
    readyItems.sort(
      (a, b) => Number(b.item.kind === 'WorkerRevocation') - Number(a.item.kind === 'WorkerRevocation'),
    );
    for (const ready of readyItems) {
      if (this.#carried.has(ready.digest)) continue;
      try {
        const item = ready.item;
        if (item.kind === 'WorkerRegistration') {
          await submitWorkerRegistration(this.#submitter, this.#client, {
            gateway: this.#origin.gateway,
            registration: item.message,
            signatures: ready.signatures,
          });
        } else if (item.kind === 'ContractRegistration') {
          await submitContractRegistration(this.#submitter, this.#client, {
            gateway: this.#origin.gateway,
            registration: item.message,
            signatures: ready.signatures,
          });
        } else if (item.kind === 'WorkerRevocation') {
          await this.#submitter.submit({
            to: this.#origin.gateway,
            data: encodeRevokeWorker({ revocation: item.message, signatures: ready.signatures }),
          });
          this.#p.logger.warn(
            { chain: this.chain, worker: item.message.worker, revokeUpTo: String(item.message.revokeUpTo) },
            'carried a worker revocation to the gateway',
          );
        } else {
          await this.#submitter.submit({
            to: this.#origin.gateway,
            data: encodeUpdateGatekeepers({ update: item.message, signatures: ready.signatures }),
          });
        }
        this.#carried.add(ready.digest);
        carried++;
      } catch (error) {
        failed ??= { kind: ready.item.kind, error };
        this.#p.logger.warn(
          { chain: this.chain, kind: ready.item.kind, err: errorMessage(error) },
          'could not carry a registration',
        );
      }
    }
    if (failed) throw new CarryFailedError(this.chain, `a ${failed.kind}`, failed.error);
    return carried;
  }

  accepts(origin: Origin): boolean {
    return (
      origin.kind === 'evm' &&
      origin.chainId === this.#origin.chainId &&
      origin.gateway.toLowerCase() === this.#origin.gateway.toLowerCase()
    );
  }

  async isApprovedWorker(cluster: Hex, worker: { address: Hex }): Promise<boolean> {
    return isWorkerAuthorized(this.#client, {
      gateway: this.#origin.gateway,
      worker: worker.address,
      cluster,
    });
  }

  async status(request: RequestJob): Promise<RequestStatus> {
    const pending = await isRequestPending(this.#client, {
      gateway: this.#origin.gateway,
      requestId: request.requestId,
    });
    if (!pending) return 'fulfilled';
    if (request.deadline * 1000 <= Date.now()) return 'expired';
    return 'pending';
  }

  /** Only signed worker batches mix (one `fulfillBatches`); a single answer goes alone (`fulfill`). */
  canShare(batch: PreparedBatch, others: readonly PreparedBatch[]): boolean {
    return batch.signature !== null && others.every((o) => o.signature !== null);
  }

  async send(
    batches: PreparedBatch[],
    beforeBroadcast: (sent: SentTransaction) => Promise<void>,
  ): Promise<SentTransaction> {
    await this.#roomInFlight();
    const to = this.#origin.gateway;
    const inputs = batches.map((b) => b.items.map(fulfillmentInputOf));
    const data = this.#calldata(batches, inputs);
    const bound = fulfillmentGasBound({ batches: inputs.map((items) => ({ items })), data });
    let gas: bigint;
    try {
      gas = await this.#submitter.gasWithin({ to, data }, bound, { simulate: simulateFirst(batches) });
    } catch (error) {
      throw gatewayFailure(error, 'the fulfilment could not be priced');
    }
    const sent = await this.#submitter.send(
      { to, data, gas },
      { beforeBroadcast: (s) => beforeBroadcast(this.#record(s)) },
    );
    return this.#record(sent);
  }

  async check(sent: SentTransaction): Promise<TransactionCheck> {
    const receipt = await this.#submitter.findReceipt(sent.hashes as Hex[]);
    if (receipt) {
      const head = await getBlockNumber(this.#client, { cacheTime: 0 });
      if (head - receipt.blockNumber + 1n < BigInt(this.#confirmations))
        return { kind: 'mined', blockNumber: Number(receipt.blockNumber) };
      if (receipt.status !== 'success')
        return {
          kind: 'reverted',
          txHash: receipt.transactionHash,
          reason: 'the gateway reverted the whole call',
        };
      const items = new Map<string, ItemResult>();
      for (const [requestId, code] of fulfillmentOutcomes(receipt, this.#origin.gateway))
        items.set(requestId.toLowerCase(), itemResultOfCode(code));
      return {
        kind: 'final',
        txHash: receipt.transactionHash,
        blockNumber: Number(receipt.blockNumber),
        gasUsed: receipt.gasUsed,
        items,
      };
    }
    const mined = await getTransactionCount(this.#client, {
      address: this.#submitter.address,
      blockTag: 'latest',
    });
    // Our nonce is used and none of our versions has a receipt: another transaction took it (a
    // receipt lagging behind the count is caught by the next look, which comes first).
    if (mined > sent.nonce) {
      if (await this.#submitter.findReceipt(sent.hashes as Hex[])) return { kind: 'mined', blockNumber: 0 };
      await this.#submitter.nonces.reconcile();
      return { kind: 'replaced' };
    }
    const known = await this.#submitter.isKnown(sent.hashes.at(-1) as Hex);
    if (!known) {
      // Lost, and behind a gap nothing of ours fills (a reorg dropped the transactions below it):
      // its bytes can never be mined, so its batches go again with a fresh nonce.
      const next = await getTransactionCount(this.#client, {
        address: this.#submitter.address,
        blockTag: 'pending',
      });
      if (sent.nonce > next) {
        await this.#submitter.nonces.reconcile();
        return { kind: 'replaced' };
      }
    }
    return { kind: 'pending', known };
  }

  async rebroadcast(sent: SentTransaction): Promise<void> {
    await this.#submitter.rebroadcast(sent.raw);
  }

  async replace(sent: SentTransaction): Promise<SentTransaction | null> {
    const tx = parseTransaction(sent.raw);
    if (
      !tx.to ||
      tx.gas === undefined ||
      tx.maxFeePerGas === undefined ||
      tx.maxPriorityFeePerGas === undefined
    )
      return null;
    const replaced = await this.#submitter.replace({
      request: { to: tx.to, data: tx.data ?? '0x', gas: tx.gas, ...(tx.value ? { value: tx.value } : {}) },
      nonce: sent.nonce,
      raw: sent.raw,
      hash: sent.hashes.at(-1) as Hex,
      hashes: sent.hashes as Hex[],
      fees: { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas },
      sentAt: sent.sentAt,
    });
    return replaced ? { ...this.#record(replaced), sentAt: sent.sentAt } : null;
  }

  /**
   * Pipelined nonces, bounded: at most `maxInFlight` of our transactions unmined at once. Past
   * that, sending waits for the chain (never longer than a minute: a stuck one is the confirm
   * stage's to replace, and a gap below it is repaired there).
   */
  async #roomInFlight(): Promise<void> {
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const next = await this.#submitter.nonces.peek();
      if (next === null) return;
      const mined = await getTransactionCount(this.#client, {
        address: this.#submitter.address,
        blockTag: 'latest',
      });
      if (next - mined < this.#maxInFlight) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The call carrying `batches`, whose items are `inputs` (the same order). */
  #calldata(batches: PreparedBatch[], inputs: FulfillmentInput[][]): Hex {
    const [first] = batches;
    if (!first) throw new InvalidInputError('batches', 'at least one batch');
    if (first.signature === null)
      return encodeFulfill({
        fulfillment: inputs[0]![0]!,
        signature: first.items[0]!.result.proof.signature,
      });
    const signed = batches.map((b, i) => ({ items: inputs[i]!, signature: b.signature! }));
    if (signed.length === 1) return encodeFulfillBatch(signed[0]!);
    return encodeFulfillBatches({ batches: signed });
  }

  #record(sent: SubmitterSentTransaction): SentTransaction {
    const now = Date.now();
    return {
      chain: this.chain,
      signer: this.#submitter.address,
      nonce: sent.nonce,
      hashes: sent.hashes,
      raw: sent.raw,
      fees: {
        maxFeePerGas: sent.fees.maxFeePerGas.toString(),
        maxPriorityFeePerGas: sent.fees.maxPriorityFeePerGas.toString(),
      },
      sentAt: sent.sentAt,
      lastSentAt: now,
    };
  }
}

/** What a gateway code says about one item. */
export function itemResultOfCode(code: FulfillResult): ItemResult {
  switch (code) {
    case 'Delivered':
      return { kind: 'delivered', callbackFailed: false };
    case 'CallbackFailed':
      return { kind: 'delivered', callbackFailed: true };
    case 'NotPending':
      return { kind: 'not-pending' };
    // A registration on its way can heal it; the others are final for this answer.
    case 'WorkerNotAuthorized':
      return { kind: 'refused', code, retryable: true };
    default:
      return { kind: 'refused', code, retryable: false };
  }
}

function fulfillmentInputOf({ request, result }: SubmitItem): FulfillmentInput {
  return {
    request: {
      requestId: request.requestId,
      contractId: request.contractId,
      requester: request.requester as Address,
      callbackGasLimit: request.callbackGasLimit ?? 0,
      deadline: BigInt(request.deadline),
    },
    publicOutput: result.publicOutput,
    sealedOutput: result.sealedOutput,
    stateRoot: result.stateRoot,
  };
}
