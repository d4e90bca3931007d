import type { Logger } from 'pino';
import { errorMessage } from '../../base/errors.js';
import type { PhalaClient } from '../../phala/client.js';
import { submit } from '../../phala/client.js';
import type { Signer } from '../../phala/submit.js';

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
 * Carries worker approvals to a sibling parachain's confidentialClient pallet. The sibling
 * checks the gatekeepers' signatures itself (the same ones the Phala registry accepted), so the
 * relayer only copies them across; it cannot approve anyone.
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
      this.#logger.warn(
        { chain: this.chain, worker: approval.worker, err: errorMessage(error) },
        'could not carry a worker approval',
      );
      return false;
    }
  }
}
