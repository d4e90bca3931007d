import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { Option } from '@polkadot/types';
import type { StorageData } from '@polkadot/types/interfaces';
import type { DispatchError, EventRecord, Hash } from '@polkadot/types/interfaces';
import type { IKeyringPair } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../base/bytes.js';
import { errorMessage } from '../base/errors.js';
import {
  ChainDataError,
  DispatchFailedError,
  SubmitTimeoutError,
  TransactionDroppedError,
  TransactionRejectedError,
} from './errors.js';
import { type DecodedEvent, decodeEventRecords, describeDispatchError } from './events.js';

/**
 * Submitting a signed extrinsic and following it to a block (and finality), with a failed
 * dispatch turned into a DispatchFailedError that names the pallet error. Works against any
 * Substrate node: only standard RPCs and the chain's own metadata are used.
 */

export type Signer = IKeyringPair;
export type WaitFor = 'inBlock' | 'finalized';
export type Tx = SubmittableExtrinsic<'promise'>;

export type SubmitOptions = {
  waitFor?: WaitFor;
  /** Default 60 s. */
  timeoutMs?: number;
  /** Use this nonce instead of the next one (no per-signer serialization then). */
  nonce?: number;
  /** Immortal era (default: mortal, as polkadot-js signs). */
  immortal?: boolean;
  tip?: bigint;
  /** Serializes signing and pool submission per signer, so concurrent calls get distinct nonces. */
  nonces?: NonceTracker;
};

export type SubmitResult = {
  txHash: Hex;
  blockHash: Hex;
  blockNumber: number;
  /** Index of the extrinsic in its block. */
  index: number;
  status: WaitFor;
  /** The extrinsic's events, decoded. */
  events: DecodedEvent[];
  /** Fee paid (TransactionPayment.TransactionFeePaid), when the chain reports it. */
  fee: bigint | null;
};

/**
 * Serializes nonce use per account: the next nonce comes from `system_accountNextIndex` (which
 * counts the pool), read only after the previous transaction of that account reached the pool.
 */
export class NonceTracker {
  readonly #locks = new Map<string, Promise<unknown>>();

  async run<T>(api: ApiPromise, address: string, submit: (nonce: number) => Promise<T>): Promise<T> {
    const previous = this.#locks.get(address) ?? Promise.resolve();
    const turn = previous
      .catch(() => {})
      .then(async () => {
        const nonce = (await api.rpc.system.accountNextIndex(address)).toNumber();
        return submit(nonce);
      });
    this.#locks.set(address, turn);
    try {
      return await turn;
    } finally {
      if (this.#locks.get(address) === turn) this.#locks.delete(address);
    }
  }
}

const defaultTracker = new NonceTracker();

/** Maps a polkadot-js RPC error from author_submit* to a TransactionRejectedError. */
export function rejectionOf(error: unknown): TransactionRejectedError {
  if (error instanceof TransactionRejectedError) return error;
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  const code = typeof e.code === 'number' && e.code !== -99999 ? e.code : null;
  const message = typeof e.message === 'string' ? e.message : errorMessage(error);
  // "1010: Invalid Transaction: Transaction has a bad signature" → the part after the code.
  const reason = message.replace(/^-?\d+:\s*/, '');
  return new TransactionRejectedError(code, reason, { cause: error });
}

/** Signs and submits; resolves when the extrinsic is in a block (or finalized). */
export async function submitExtrinsic(
  api: ApiPromise,
  tx: Tx,
  signer: Signer,
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  const waitFor = options.waitFor ?? 'inBlock';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const signAndSubmit = async (nonce: number) => {
    await tx.signAsync(signer, { nonce, era: options.immortal ? 0 : undefined, tip: options.tip });
    const watching = watchExtrinsic(api, tx, waitFor, timeoutMs);
    // Hold the signer's nonce until the pool has the transaction. A refusal rejects both
    // promises; it is reported once, through `accepted`.
    watching.result.catch(() => {});
    await watching.accepted;
    return watching.result;
  };
  const result =
    options.nonce !== undefined
      ? signAndSubmit(options.nonce)
      : (options.nonces ?? defaultTracker).run(api, signer.address, signAndSubmit);
  return await await result;
}

type Watching = { accepted: Promise<void>; result: Promise<SubmitResult> };

/** Submits an already signed extrinsic and follows its status. */
export function watchExtrinsic(api: ApiPromise, tx: Tx, waitFor: WaitFor, timeoutMs: number): Watching {
  const txHash = tx.hash.toHex() as Hex;
  let accept!: () => void;
  let refuse!: (error: unknown) => void;
  const accepted = new Promise<void>((resolve, reject) => {
    accept = resolve;
    refuse = reject;
  });
  accepted.catch(() => {});
  const result = new Promise<SubmitResult>((resolve, reject) => {
    let done = false;
    let unsubscribe: (() => void) | null = null;
    let inBlock: Inspected | null = null;
    let queue: Promise<void> = Promise.resolve();
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe?.();
      settle();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new SubmitTimeoutError(txHash, waitFor === 'inBlock' ? 'in a block' : 'finalized', timeoutMs),
          ),
        ),
      timeoutMs,
    );
    const settle = (inspected: Inspected, status: WaitFor) => {
      if (inspected.failure) reject(inspected.failure);
      else resolve({ ...inspected.result, status });
    };
    api.rpc.author
      .submitAndWatchExtrinsic(tx, (status) => {
        accept();
        queue = queue
          .then(async () => {
            if (done) return;
            if (status.isInBlock) {
              inBlock = await inspect(api, tx, status.asInBlock);
              if (waitFor === 'inBlock') finish(() => settle(inBlock!, 'inBlock'));
            } else if (status.isRetracted) {
              inBlock = null;
            } else if (status.isFinalized) {
              const hash = status.asFinalized;
              const inspected =
                inBlock && inBlock.result.blockHash === hash.toHex() ? inBlock : await inspect(api, tx, hash);
              finish(() => settle(inspected, 'finalized'));
            } else if (status.isDropped || status.isInvalid || status.isUsurped || status.isFinalityTimeout) {
              finish(() => reject(new TransactionDroppedError(status.type.toLowerCase(), txHash)));
            }
          })
          .catch((error) => finish(() => reject(error)));
      })
      .then((unsub) => {
        unsubscribe = unsub;
        if (done) unsub();
      })
      .catch((error) => {
        const rejected = rejectionOf(error);
        refuse(rejected);
        finish(() => reject(rejected));
      });
  });
  return { accepted, result };
}

type Inspected = { result: Omit<SubmitResult, 'status'>; failure: DispatchFailedError | null };

/** Reads the block an extrinsic went into: its index and events, and whether it failed. */
async function inspect(api: ApiPromise, tx: Tx, blockHash: Hash): Promise<Inspected> {
  const [signedBlock, rawEvents] = await Promise.all([
    api.rpc.chain.getBlock(blockHash),
    api.rpc.state.getStorage(api.query.system.events.key(), blockHash) as Promise<
      Option<StorageData> | StorageData
    >,
  ]);
  const index = signedBlock.block.extrinsics.findIndex((x) => x.hash.eq(tx.hash));
  if (index < 0)
    throw new ChainDataError(`extrinsic ${tx.hash.toHex()} is not in block ${blockHash.toHex()}`);
  const records = eventRecordsOf(api, rawEvents);
  const mine = records.filter(
    (r) => r.phase.isApplyExtrinsic && r.phase.asApplyExtrinsic.toNumber() === index,
  );
  const events = decodeEventRecords(api, mine).map((e, i) => ({ ...e, index: records.indexOf(mine[i]!) }));
  const failed = mine.find((r) => r.event.section === 'system' && r.event.method === 'ExtrinsicFailed');
  const feeEvent = events.find((e) => e.section === 'transactionPayment' && e.name === 'TransactionFeePaid');
  const fee = feeEvent ? BigInt(String(feeEvent.fields.actualFee)) : null;
  const result = {
    txHash: tx.hash.toHex() as Hex,
    blockHash: blockHash.toHex() as Hex,
    blockNumber: signedBlock.block.header.number.toNumber(),
    index,
    events,
    fee,
  };
  let failure: DispatchFailedError | null = null;
  if (failed) {
    const dispatchError = failed.event.data[0] as DispatchError;
    const described = describeDispatchError(api, dispatchError);
    failure = new DispatchFailedError(described.pallet, described.error, {
      docs: described.docs,
      txHash: result.txHash,
      blockHash: result.blockHash,
      raw: dispatchError.toJSON(),
    });
  }
  return { result, failure };
}

/** `System.Events` from raw storage bytes, decoded with the chain's registry. */
export function eventRecordsOf(
  api: ApiPromise,
  raw: Option<StorageData> | StorageData | Uint8Array | null,
): EventRecord[] {
  let bytes: Uint8Array | null;
  if (raw === null) bytes = null;
  else if ('isSome' in raw && typeof raw.isSome === 'boolean')
    bytes = raw.isSome ? (raw as Option<StorageData>).unwrap() : null;
  else bytes = raw as Uint8Array;
  if (!bytes || bytes.length === 0) return [];
  try {
    return [...api.registry.createType('Vec<EventRecord>', bytes)] as EventRecord[];
  } catch (error) {
    throw new ChainDataError(`cannot decode System.Events (${u8aToHex(bytes.subarray(0, 8))}…)`, {
      cause: error,
    });
  }
}
