import type { Cluster, Redis } from 'ioredis';
import type { Address, Client, Hex, LocalAccount, TransactionReceipt } from 'viem';
import { TransactionNotFoundError, TransactionReceiptNotFoundError, keccak256 } from 'viem';
import {
  call,
  estimateGas,
  estimateMaxPriorityFeePerGas,
  getBlock,
  getBlockNumber,
  getTransaction,
  getTransactionCount,
  getTransactionReceipt,
  sendRawTransaction,
} from 'viem/actions';
import { type Retry, errorMessage } from '../../base/errors.js';
import { SubmitterError } from '../errors.js';
import {
  isAlreadyKnownError,
  isInsufficientFundsError,
  isNonceTooHighError,
  isNonceTooLowError,
  isReplacementUnderpricedError,
} from '../rpc-errors.js';
import { type FeePolicy, type Fees, bumpedFees, initialFees } from './fees.js';
import { RedisNonceManager } from './nonce-manager.js';

export type TransactionRequest = { to: Address; data: Hex; value?: bigint; gas?: bigint };

export type SentTransaction = {
  request: TransactionRequest & { gas: bigint };
  nonce: number;
  /** The latest signed bytes (what `hash` is the hash of). */
  raw: Hex;
  /** The latest hash sent for this nonce. */
  hash: Hex;
  /** Every hash sent for this nonce (the original and its replacements). */
  hashes: Hex[];
  fees: Fees;
  sentAt: number;
};

export type SubmitResult = {
  receipt: TransactionReceipt;
  nonce: number;
  hashes: Hex[];
  replacements: number;
};

/** What a submitter did, for logs and metrics (no transaction data, no secrets). */
export type SubmitterEvent =
  | { kind: 'sent'; nonce: number; hash: Hex; fees: Fees }
  | { kind: 'replaced'; nonce: number; hash: Hex; fees: Fees }
  | { kind: 'mined'; nonce: number; hash: Hex; status: 'success' | 'reverted'; gasUsed: bigint }
  | { kind: 'nonce-reconciled'; reason: string };

export type EvmSubmitterOptions = {
  client: Client;
  chainId: number;
  /** The signer (a local account: transactions are signed here and sent raw). */
  account: LocalAccount;
  redis: Redis | Cluster;
  keyPrefix: string;
  fees: FeePolicy;
  /** Replace a transaction not mined after this long (default 30 s). */
  stuckAfterMs?: number;
  /** At most this many replacements per nonce (default 5). */
  maxReplacements?: number;
  /** New transactions share one fee quote for this long (default 1 s; 0: a quote each). */
  feeQuoteMs?: number;
  /** Give up waiting after this long (default 10 min). */
  receiptTimeoutMs?: number;
  /** Blocks on top of the receipt's block (default 1: the receipt's own block). */
  confirmations?: number;
  pollIntervalMs?: number;
  /** Gas limit = estimate × this (default 1.25). */
  gasMultiplier?: number;
  /** Attempts to get a transaction accepted when its nonce turns out to be taken (default 3). */
  sendAttempts?: number;
  onEvent?: (event: SubmitterEvent) => void;
};

/** What one read of the latest block gives a new transaction. */
type Quote = { fees: Fees; gasLimit: bigint };

/** An outside transaction used our nonce before ours was mined; send the request again. */
export class NonceTakenError extends SubmitterError {
  /** The request is sent again with a fresh nonce. */
  static override readonly retry: Retry = 'retry';
  override name = 'NonceTakenError';
}

/**
 * Sends transactions for one signer: nonces from a Redis-backed manager shared by every process
 * using the key, EIP-1559 fees under a cap, replacement of a transaction that is not mined in
 * time with a capped fee bump, and receipts after the configured confirmations.
 */
export class EvmSubmitter {
  readonly #o: EvmSubmitterOptions;
  readonly nonces: RedisNonceManager;
  #feeQuote: { at: number; quote: Promise<Quote> } | undefined;

  constructor(options: EvmSubmitterOptions) {
    this.#o = options;
    this.nonces = new RedisNonceManager({
      redis: options.redis,
      keyPrefix: options.keyPrefix,
      // The genesis hash tells a restarted devnet (same chain id, new chain) from the old one.
      chain: async () => {
        const genesis = await getBlock(options.client, { blockNumber: 0n });
        return `${options.chainId}:${genesis.hash.slice(0, 18)}`;
      },
      address: options.account.address,
      source: (address, blockTag) => getTransactionCount(options.client, { address, blockTag }),
    });
  }

  get address(): Address {
    return this.#o.account.address;
  }

  /** `eth_estimateGas` from this signer, times the gas multiplier. Throws the node's revert. */
  async estimateGas(tx: TransactionRequest): Promise<bigint> {
    const estimate = await estimateGas(this.#o.client, {
      account: this.#o.account.address,
      to: tx.to,
      data: tx.data,
      ...(tx.value === undefined ? {} : { value: tx.value }),
    });
    const m = BigInt(Math.round((this.#o.gasMultiplier ?? 1.25) * 1000));
    return (estimate * m) / 1000n;
  }

  /**
   * `bound` when one `eth_call` from this signer with that gas limit goes through (the same call
   * with that limit then succeeds on the same state), else `estimateGas`, which throws the node's
   * revert. One run of the call instead of the node's binary search over many
   * (`fulfillmentGasBound` says why that matters). With `simulate: false`, `bound` as it is, for
   * a call the caller knows cannot revert with that much gas.
   */
  async gasWithin(
    tx: TransactionRequest,
    bound: bigint,
    options: { simulate?: boolean } = {},
  ): Promise<bigint> {
    // A node runs an eth_call above the block's gas limit, but refuses such a transaction.
    if (bound > (await this.#quote()).gasLimit) return this.estimateGas(tx);
    if (options.simulate === false) return bound;
    try {
      await call(this.#o.client, {
        account: this.#o.account.address,
        to: tx.to,
        data: tx.data,
        gas: bound,
        ...(tx.value === undefined ? {} : { value: tx.value }),
      });
      return bound;
    } catch {
      // Too little gas, a revert or an unreachable node: the estimate tells them apart.
      return this.estimateGas(tx);
    }
  }

  /** Sends and waits for the receipt (replacing the transaction if it gets stuck). */
  async submit(tx: TransactionRequest): Promise<SubmitResult> {
    return this.wait(await this.send(tx));
  }

  /**
   * Signs and broadcasts with the next nonce. A nonce that turns out to be taken (by an outside
   * transaction) is skipped after reconciling with the chain, up to `sendAttempts` times.
   * `beforeBroadcast` sees the signed transaction before it leaves (to record it where a crash
   * cannot lose it); if it throws, nothing is broadcast.
   */
  async send(
    tx: TransactionRequest,
    options: { beforeBroadcast?: (sent: SentTransaction) => Promise<void> } = {},
  ): Promise<SentTransaction> {
    const gas = tx.gas ?? (await this.estimateGas(tx));
    const request = { ...tx, gas };
    const attempts = this.#o.sendAttempts ?? 3;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const fees = await this.#initialFees(attempt > 0);
      try {
        return await this.nonces.withNextNonce(async (nonce) => {
          const { raw, hash } = await this.#sign(request, nonce, fees);
          const sent: SentTransaction = {
            request,
            nonce,
            raw,
            hash,
            hashes: [hash],
            fees,
            sentAt: Date.now(),
          };
          await options.beforeBroadcast?.(sent);
          await this.rebroadcast(raw);
          this.#o.onEvent?.({ kind: 'sent', nonce, hash, fees });
          return sent;
        });
      } catch (error) {
        lastError = error;
        if (isNonceTooLowError(error) || isReplacementUnderpricedError(error) || isNonceTooHighError(error)) {
          // The nonce manager has already reset to the chain's pending count: try that one.
          this.#o.onEvent?.({
            kind: 'nonce-reconciled',
            reason: isNonceTooHighError(error) ? 'nonce gap' : 'nonce taken',
          });
          continue;
        }
        if (isInsufficientFundsError(error))
          throw new SubmitterError(`${this.address} cannot pay for gas`, {
            cause: error,
            docsPath: 'docs/evm.md#submitter',
          });
        throw new SubmitterError(`transaction not accepted: ${errorMessage(error)}`, { cause: error });
      }
    }
    throw new SubmitterError(`no free nonce after ${attempts} attempts`, { cause: lastError });
  }

  /**
   * Waits for a receipt of any hash sent for this nonce, replacing the transaction with bumped
   * fees when it is not mined within `stuckAfterMs`. Throws `NonceTakenError` when the nonce
   * was used by a transaction that is not ours.
   */
  async wait(sent: SentTransaction): Promise<SubmitResult> {
    const start = Date.now();
    const timeout = this.#o.receiptTimeoutMs ?? 600_000;
    const stuckAfter = this.#o.stuckAfterMs ?? 30_000;
    const poll = this.#o.pollIntervalMs ?? 1_000;
    let current = sent;
    let replacements = 0;
    let lastSend = sent.sentAt;
    while (true) {
      const receipt = await this.findReceipt(current.hashes);
      if (receipt) {
        const confirmed = await this.#confirm(receipt, poll, start + timeout);
        if (confirmed) {
          this.#o.onEvent?.({
            kind: 'mined',
            nonce: current.nonce,
            hash: confirmed.transactionHash,
            status: confirmed.status,
            gasUsed: confirmed.gasUsed,
          });
          return { receipt: confirmed, nonce: current.nonce, hashes: current.hashes, replacements };
        }
        continue; // reorged out while confirming: keep waiting (or replace)
      }
      const mined = await getTransactionCount(this.#o.client, { address: this.address, blockTag: 'latest' });
      if (mined > current.nonce) {
        // Our nonce is used; a receipt may only lag behind the count. Look once more.
        await sleep(poll);
        if (!(await this.findReceipt(current.hashes))) {
          await this.nonces.reconcile();
          this.#o.onEvent?.({ kind: 'nonce-reconciled', reason: 'nonce used by another transaction' });
          throw new NonceTakenError(
            `nonce ${current.nonce} of ${this.address} was used by another transaction`,
            {
              details: `our hashes: ${current.hashes.join(', ')}`,
            },
          );
        }
        continue;
      }
      if (Date.now() - start > timeout)
        throw new SubmitterError(`transaction not mined within ${timeout} ms`, {
          details: `nonce ${current.nonce}, hashes ${current.hashes.join(', ')}`,
        });
      if (Date.now() - lastSend >= stuckAfter) {
        // A nonce above the chain's pending count waits behind a gap that nothing of ours fills.
        const pendingCount = await getTransactionCount(this.#o.client, {
          address: this.address,
          blockTag: 'pending',
        });
        if (pendingCount < current.nonce) {
          await this.nonces.reconcile();
          this.#o.onEvent?.({ kind: 'nonce-reconciled', reason: 'gap below our nonce' });
          throw new NonceTakenError(
            `nonce ${current.nonce} of ${this.address} waits behind a gap (chain at ${pendingCount})`,
            {
              details: 'the next nonce was reset to the chain; send the request again',
            },
          );
        }
      }
      if (Date.now() - lastSend >= stuckAfter && replacements < (this.#o.maxReplacements ?? 5)) {
        const replaced = await this.#replace(current);
        lastSend = Date.now();
        if (replaced) {
          current = replaced;
          replacements++;
        }
        continue;
      }
      await sleep(poll);
    }
  }

  /**
   * The same transaction with bumped fees under the same nonce; null when the fees are at the
   * cap or the node does not take it (mined meanwhile, or it wants a larger bump).
   */
  async replace(sent: SentTransaction): Promise<SentTransaction | null> {
    return this.#replace(sent);
  }

  async #replace(sent: SentTransaction): Promise<SentTransaction | null> {
    const block = await getBlock(this.#o.client, { blockTag: 'latest' });
    const fees = bumpedFees(sent.fees, block.baseFeePerGas ?? 0n, this.#o.fees);
    if (!fees) return null; // at the cap: nothing to do but wait
    try {
      const { raw, hash } = await this.#sign(sent.request, sent.nonce, fees);
      await this.rebroadcast(raw);
      this.#o.onEvent?.({ kind: 'replaced', nonce: sent.nonce, hash, fees });
      return { ...sent, raw, hash, hashes: [...sent.hashes, hash], fees, sentAt: Date.now() };
    } catch (error) {
      // Mined meanwhile, or the node wants a larger bump: the wait loop sorts it out.
      if (isNonceTooLowError(error) || isReplacementUnderpricedError(error)) return null;
      throw new SubmitterError(`replacement not accepted: ${errorMessage(error)}`, { cause: error });
    }
  }

  async #sign(
    request: SentTransaction['request'],
    nonce: number,
    fees: Fees,
  ): Promise<{ raw: Hex; hash: Hex }> {
    const raw = await this.#o.account.signTransaction({
      chainId: this.#o.chainId,
      type: 'eip1559',
      nonce,
      to: request.to,
      data: request.data,
      value: request.value ?? 0n,
      gas: request.gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    return { raw, hash: keccak256(raw) };
  }

  /** Broadcasts signed bytes; the very same bytes already in the pool (a lost reply) count as sent. */
  async rebroadcast(raw: Hex): Promise<void> {
    try {
      await sendRawTransaction(this.#o.client, { serializedTransaction: raw });
    } catch (error) {
      if (!isAlreadyKnownError(error)) throw error;
    }
  }

  /** Whether the node still knows the transaction (in its pool or mined). */
  async isKnown(hash: Hex): Promise<boolean> {
    try {
      await getTransaction(this.#o.client, { hash });
      return true;
    } catch (error) {
      if (error instanceof TransactionNotFoundError) return false;
      throw error;
    }
  }

  /** Fees for a new transaction (`#quote`). */
  async #initialFees(fresh = false): Promise<Fees> {
    return (await this.#quote(fresh)).fees;
  }

  /**
   * The latest block's fees and gas limit. One quote (latest block's base fee and gas limit, and
   * the node's tip) serves every transaction sent within `feeQuoteMs`: the max fee leaves twice the
   * base fee of room, and under load the two reads per transaction were a fifth of what the
   * submitter asked the node. `gasWithin` checks its bound against the same block.
   */
  #quote(fresh = false): Promise<Quote> {
    const now = Date.now();
    const last = this.#feeQuote;
    if (!fresh && last && now - last.at < (this.#o.feeQuoteMs ?? 1_000)) return last.quote;
    const quote = this.#readQuote();
    this.#feeQuote = { at: now, quote };
    quote.catch(() => {
      if (this.#feeQuote?.quote === quote) this.#feeQuote = undefined;
    });
    return quote;
  }

  async #readQuote(): Promise<Quote> {
    const [block, tip] = await Promise.all([
      getBlock(this.#o.client, { blockTag: 'latest' }),
      this.#o.fees.maxPriorityFeePerGas === undefined
        ? estimateMaxPriorityFeePerGas(this.#o.client, { chain: null })
        : Promise.resolve(this.#o.fees.maxPriorityFeePerGas),
    ]);
    return { fees: initialFees(block.baseFeePerGas ?? 0n, tip, this.#o.fees), gasLimit: block.gasLimit };
  }

  /** The receipt of whichever of `hashes` (versions of one nonce) was mined, or null. */
  async findReceipt(hashes: readonly Hex[]): Promise<TransactionReceipt | null> {
    for (const hash of [...hashes].reverse()) {
      try {
        return await getTransactionReceipt(this.#o.client, { hash });
      } catch (error) {
        if (error instanceof TransactionReceiptNotFoundError) continue;
        throw error;
      }
    }
    return null;
  }

  /** Waits for the confirmations; null when the receipt's block left the chain meanwhile. */
  async #confirm(
    receipt: TransactionReceipt,
    poll: number,
    deadline: number,
  ): Promise<TransactionReceipt | null> {
    const needed = BigInt(Math.max(1, this.#o.confirmations ?? 1));
    while (true) {
      const head = await getBlockNumber(this.#o.client, { cacheTime: 0 });
      if (head - receipt.blockNumber + 1n >= needed) {
        const again = await this.findReceipt([receipt.transactionHash]);
        return again && again.blockHash === receipt.blockHash ? again : null;
      }
      if (Date.now() > deadline) throw new SubmitterError('confirmations not reached in time');
      await sleep(poll);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
