import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { fulfillmentLeaf, fulfillmentOf } from '../../crypto/proofs.js';
import type { ResultBatchJob } from '../../protocol/result-batch-job.js';
import type { ResultJob } from '../../protocol/result-job.js';
import type { SignBatchRequest } from '../enclave/executor.js';

/**
 * Groups a worker's EVM results that are ready together for the same gateway, has the enclave
 * sign them as one FulfillmentBatch (docs/PROTOCOL.md, `fulfillBatch`), and publishes the group as
 * ONE results job: the batch travels whole from here to the chain, where the relayer may put
 * several workers' batches in one transaction. A lone EVM result is signed as a batch of one for
 * the same reason. Every result keeps its own signature: a batch the relayer cannot send whole
 * still goes out one by one.
 *
 * A group is published when it reaches its size, when its first result has waited `maxDelayMs`,
 * or `lingerMs` after no other job is running in this worker any more: a lone request is not held
 * back, and the next request of a stream that arrives a few milliseconds apart still joins (without
 * the linger, such a stream went out one result per transaction). When every queue slot of the
 * worker holds a job whose result waits here, nothing more can join: the group goes at once (each
 * waiting result holds its job, and so its slot, until it is published).
 */
export type ResultBatcherParameters = {
  maxSize: number;
  maxDelayMs: number;
  /** How long a group waits for more once nothing is running (default 20 ms, at most maxDelayMs). */
  lingerMs?: number;
  /** The cap for one gateway (its chain's relayer batch size, when the config names the chain). */
  maxSizeFor?: (chainId: number, gateway: Hex) => number;
  /** Jobs of this worker that are still executing (and may yet add a result). */
  running: () => number;
  /**
   * Whether the worker can take no more jobs (every queue slot holds one, executing or waiting
   * here): with nothing executing either, no result can join a group, so it goes at once.
   */
  full?: () => boolean;
  sign: (request: SignBatchRequest) => { root: Hex; count: number; signature: Hex };
  /** Puts one worker batch on the results queue. */
  publish: (batch: ResultBatchJob) => Promise<void>;
  onSignError?: (error: unknown, size: number) => void;
};

type Waiting = { result: ResultJob; resolve: () => void; reject: (error: unknown) => void };
type Group = {
  target: SignBatchRequest['target'];
  maxSize: number;
  items: Waiting[];
  timer?: NodeJS.Timeout;
  /** When `timer` fires (ms since the epoch). */
  due?: number;
};

export class ResultBatcher {
  readonly #p: ResultBatcherParameters;
  readonly #groups = new Map<string, Group>();

  constructor(parameters: ResultBatcherParameters) {
    this.#p = parameters;
  }

  /** Resolves once `result` is on the results queue (alone or as part of a batch). */
  add(result: ResultJob): Promise<void> {
    const origin = result.origin;
    // Stateful results commit state first and go one by one on the relayer side anyway.
    if (this.#p.maxSize < 2 || origin.kind !== 'evm' || result.proof.kind !== 'eip712' || result.stateCommit)
      return this.#p.publish(alone(result));
    const maxSize = Math.min(
      this.#p.maxSize,
      this.#p.maxSizeFor?.(origin.chainId, origin.gateway) ?? Infinity,
    );
    if (maxSize < 2) return this.#p.publish(alone(result));
    const key = `${origin.chainId}:${origin.gateway.toLowerCase()}`;
    return new Promise<void>((resolve, reject) => {
      let group = this.#groups.get(key);
      if (!group) {
        group = {
          target: { kind: 'evm', chainId: origin.chainId, verifyingContract: origin.gateway },
          maxSize,
          items: [],
        };
        this.#groups.set(key, group);
      }
      group.items.push({ result, resolve, reject });
      const idle = this.#p.running() === 0;
      if (group.items.length >= group.maxSize || (idle && (this.#p.full?.() ?? false))) this.#flush(key);
      else this.#schedule(key, group, idle ? this.#linger : this.#p.maxDelayMs);
    });
  }

  /** Called when a job stops executing: with nothing left running, every group goes after the linger. */
  settle(): void {
    if (this.#p.running() > 0) return;
    for (const [key, group] of [...this.#groups]) this.#schedule(key, group, this.#linger);
  }

  get #linger(): number {
    return Math.min(this.#p.lingerMs ?? 20, this.#p.maxDelayMs);
  }

  /** Flushes the group in `ms` unless it is due sooner already. */
  #schedule(key: string, group: Group, ms: number): void {
    const due = Date.now() + ms;
    if (group.timer && group.due !== undefined && group.due <= due) return;
    clearTimeout(group.timer);
    group.due = due;
    group.timer = setTimeout(() => this.#flush(key), ms);
  }

  /** Publishes everything waiting (stop). */
  flushAll(): void {
    for (const key of [...this.#groups.keys()]) this.#flush(key);
  }

  #flush(key: string): void {
    const group = this.#groups.get(key);
    if (!group) return;
    this.#groups.delete(key);
    clearTimeout(group.timer);
    const items = group.items;
    const results = items.map((w) => w.result);
    let batch: ResultBatchJob['batch'];
    try {
      const leaves = results.map((r) =>
        toHex(
          fulfillmentLeaf(
            fulfillmentOf(r.requestId, fromHex(r.publicOutput), fromHex(r.sealedOutput), r.stateRoot),
          ),
        ),
      );
      const signed = this.#p.sign({ target: group.target, leaves });
      batch = { root: signed.root, signature: signed.signature };
    } catch (error) {
      // Each result is still signed on its own: publish them as single answers.
      this.#p.onSignError?.(error, items.length);
    }
    const published = batch
      ? [this.#p.publish({ v: 2, worker: results[0]!.worker, results, batch }).then(() => items)]
      : items.map((w) => this.#p.publish(alone(w.result)).then(() => [w]));
    for (const [i, p] of published.entries()) {
      const waiting = batch ? items : [items[i]!];
      p.then(
        () => {
          for (const w of waiting) w.resolve();
        },
        (error: unknown) => {
          for (const w of waiting) w.reject(error);
        },
      );
    }
  }
}

/** One result as a worker batch of its own, unsigned as a batch (its own proof is enough). */
function alone(result: ResultJob): ResultBatchJob {
  return { v: 2, worker: result.worker, results: [result] };
}
