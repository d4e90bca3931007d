import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import type { WorkerRevocationCollector } from '../../gatekeeper/sibling/revocation-collector.js';
import type { PhalaClient } from '../../phala/client.js';
import { submit } from '../../phala/client.js';
import type { Signer } from '../../phala/submit.js';
import { CarryFailedError } from '../carry-queue.js';

/** A worker approval as the gatekeepers signed it on the Phala-style chain (workerApprovalPayload). */
export type SignedWorkerApproval = {
  worker: `0x${string}`;
  x25519: `0x${string}`;
  cluster: `0x${string}`;
  measurement: `0x${string}`;
  expiresAt: bigint;
  registeredAt: number;
  signatures: `0x${string}`[];
};

/**
 * Carries worker approvals and revocations to a sibling parachain's confidentialClient pallet.
 * The sibling checks the gatekeepers' signatures itself (for approvals the same ones the Phala
 * registry accepted; for revocations the ones the gatekeepers publish on every `WorkerRevoked`,
 * PhalaMq worker-revocation/v1), so the relayer only copies them across; it cannot approve or
 * revoke anyone. build.ts runs both in the sibling's own carry queue (carry-queue.ts), never on
 * the Phala-style watcher's block: a dead sibling delays only what goes to it.
 */
export class SiblingApprovalCarrier {
  readonly chain: string;
  readonly #client: PhalaClient;
  readonly #signer: Signer;
  readonly #logger: Logger;

  constructor(chain: string, client: PhalaClient, signer: Signer, logger: Logger) {
    this.chain = chain;
    this.#client = client;
    this.#signer = signer;
    this.#logger = logger;
  }

  /**
   * Submits one approval and waits until it is in a block. False when the sibling has no such
   * call (nothing to carry there); throws CarryFailedError when the submission failed (whether a
   * retry can help is the cause's answer): this runs in the sibling's carry queue, which retries.
   */
  async carry(approval: SignedWorkerApproval): Promise<boolean> {
    const tx = this.#client.api.tx.confidentialClient?.approveWorker;
    if (!tx) {
      this.#logger.warn(
        { chain: this.chain },
        'sibling has no confidentialClient.approveWorker; approvals not carried',
      );
      return false;
    }
    try {
      await submit(
        this.#client,
        tx(
          approval.worker,
          approval.x25519,
          approval.cluster,
          approval.measurement,
          approval.expiresAt,
          approval.registeredAt,
          approval.signatures,
        ),
        this.#signer,
        { waitFor: 'inBlock' },
      );
      return true;
    } catch (error) {
      throw new CarryFailedError(this.chain, `the approval of worker ${approval.worker}`, error);
    }
  }

  /**
   * Submits every pooled revocation that reached the sibling's threshold and whose worker the
   * sibling still lists; a revocation the sibling no longer needs is dropped from the pool.
   * Returns how many were carried; when any failed (after trying the others) throws the first
   * failure as CarryFailedError, so the carry queue tries the rest again.
   */
  async carryRevocations(collector: WorkerRevocationCollector): Promise<number> {
    const pallet = this.#client.api.query.confidentialClient;
    const tx = this.#client.api.tx.confidentialClient?.revokeWorker;
    if (!pallet?.approvalThreshold || !pallet.workers || !pallet.gatekeepers || !tx) {
      this.#logger.warn(
        { chain: this.chain },
        'sibling has no confidentialClient.revokeWorker; revocations not carried',
      );
      return 0;
    }
    if (collector.size === 0) return 0;
    const threshold = Number((await pallet.approvalThreshold()).toString());
    const gatekeepers = (await pallet.gatekeepers.keys()).map((k) => k.args[0]!.toHex() as `0x${string}`);
    let carried = 0;
    let failed: CarryFailedError | undefined;
    for (const revocation of collector.ready(threshold, gatekeepers)) {
      const listed = (await pallet.workers(revocation.cluster, revocation.worker)) as unknown as {
        isEmpty: boolean;
      };
      if (listed.isEmpty) {
        collector.forget(revocation.id);
        continue;
      }
      try {
        await submit(
          this.#client,
          tx(
            revocation.worker,
            revocation.cluster,
            `0x${Buffer.from(revocation.reason, 'utf8').toString('hex')}`,
            revocation.signatures,
          ),
          this.#signer,
          { waitFor: 'inBlock' },
        );
        collector.forget(revocation.id);
        carried++;
        this.#logger.warn(
          { chain: this.chain, worker: revocation.worker, reason: revocation.reason },
          'carried a worker revocation',
        );
      } catch (error) {
        this.#logger.warn(
          { chain: this.chain, worker: revocation.worker, err: errorMessage(error) },
          'could not carry a worker revocation',
        );
        failed ??= new CarryFailedError(this.chain, `the revocation of worker ${revocation.worker}`, error);
      }
    }
    if (failed) throw failed;
    return carried;
  }
}
