import { errorMessage } from '../../base/errors.js';
import type { ChainLogger, DevChain, StoredBlock } from '../substrate/chain/chain.js';
import { parachainSystemStorage } from './pallets/parachain.js';
import { dmpStorage, hrmpStorage, parasStorage } from './pallets/relay.js';
import {
  type BackedCandidateValue,
  PARACHAIN_INHERENT,
  PARAS_INHERENT,
  type ParachainInherentDataValue,
  type ParachainsInherentDataValue,
} from './types.js';

/**
 * Moves messages between the relay chain and its parachains at block boundaries, as collators
 * and validators do: a parachain block leaves its upward and HRMP messages in its state; the next
 * relay block includes it (ParaInherent.enter) and processes the upward messages, stores the HRMP
 * ones and queues what it sends down; the next block of each parachain is built on the relay
 * block and gets its downward and HRMP messages (ParachainSystem.set_validation_data).
 *
 * Everything is read from the chains' states, nothing is held here: which parachain blocks the
 * relay chain has not included yet (Paras.MostRecentBlock), which messages a parachain has not
 * processed yet (its LastRelayChainBlockNumber), so a restart (with --data-dir) loses nothing.
 * With instant block production the router also makes the blocks that carry messages on.
 */

export type RouterParachain = { paraId: number; chain: DevChain };

/** At most this many parachain blocks are included per relay block. */
const MAX_CANDIDATES_PER_BLOCK = 32;

export class RelayRouter {
  readonly #relay: DevChain;
  readonly #paras: RouterParachain[];
  readonly #logger: ChainLogger;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #scheduled = new Set<DevChain>();
  #stopped = false;

  constructor(relay: DevChain, paras: RouterParachain[], logger: ChainLogger) {
    this.#relay = relay;
    this.#paras = paras;
    this.#logger = logger;
  }

  start(): void {
    const relay = this.#relay;
    this.#unsubscribe.push(
      relay.addInherentDataProvider(() => [[PARAS_INHERENT, this.candidates()]]),
      relay.onNewBlock((block) => this.#afterRelayBlock(block)),
    );
    for (const para of this.#paras) {
      this.#unsubscribe.push(
        para.chain.addInherentDataProvider(() => [[PARACHAIN_INHERENT, this.validationData(para)]]),
        para.chain.onNewBlock((block) => this.#afterParaBlock(para, block)),
      );
    }
    this.#catchUp();
  }

  /** After a restart: carries on with what the chains' states say is still in flight. */
  #catchUp(): void {
    if (
      this.candidates().backedCandidates.some(
        ({ candidate: { commitments: c } }) => c.upwardMessages.length || c.horizontalMessages.length,
      )
    )
      this.#schedule(this.#relay);
    this.#afterRelayBlock(this.#relay.best);
  }

  stop(): void {
    this.#stopped = true;
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  /** The candidates the next relay block includes: parachain blocks it has not included yet. */
  candidates(): ParachainsInherentDataValue {
    const relayEnv = this.#relay.env(this.#relay.best);
    const backedCandidates: BackedCandidateValue[] = [];
    for (const { paraId, chain } of this.#paras) {
      const included = parasStorage.MostRecentBlock.get(relayEnv, paraId);
      const last = Math.min(chain.best.number, included + MAX_CANDIDATES_PER_BLOCK);
      for (let n = included + 1; n <= last; n++) {
        const block = chain.blockByNumber(n);
        if (!block) break;
        const env = chain.env(block);
        const S = parachainSystemStorage;
        backedCandidates.push({
          candidate: {
            descriptor: { paraId, paraBlockNumber: n, paraHead: block.hash },
            commitments: {
              upwardMessages: S.UpwardMessages.get(env),
              horizontalMessages: S.HrmpOutboundMessages.get(env),
              processedDownwardMessages: S.ProcessedDownwardMessages.get(env),
              hrmpWatermark: S.LastRelayChainBlockNumber.get(env),
            },
          },
        });
      }
    }
    return { backedCandidates };
  }

  /** What the next block of `para` is built on: the relay's best block and the messages it holds for it. */
  validationData(para: RouterParachain): ParachainInherentDataValue {
    const relayBlock = this.#relay.best;
    const relayEnv = this.#relay.env(relayBlock);
    const processed = parachainSystemStorage.LastRelayChainBlockNumber.get(para.chain.env(para.chain.best));
    const downwardMessages = dmpStorage.DownwardMessageQueues.get(relayEnv, para.paraId).filter(
      (m) => m.sentAt > processed,
    );
    const horizontalMessages: ParachainInherentDataValue['horizontalMessages'] = [];
    for (const sender of this.#paras) {
      if (sender.paraId === para.paraId) continue;
      const contents = hrmpStorage.HrmpChannelContents.get(relayEnv, {
        sender: sender.paraId,
        recipient: para.paraId,
      }).filter((m) => m.sentAt > processed);
      if (contents.length) horizontalMessages.push([sender.paraId, contents]);
    }
    horizontalMessages.sort(([a], [b]) => a - b);
    return {
      validationData: {
        relayParentNumber: relayBlock.number,
        relayParentStorageRoot: relayBlock.header.stateRoot,
      },
      downwardMessages,
      horizontalMessages,
    };
  }

  #afterParaBlock(para: RouterParachain, block: StoredBlock): void {
    const env = para.chain.env(block);
    const S = parachainSystemStorage;
    if (S.UpwardMessages.get(env).length || S.HrmpOutboundMessages.get(env).length)
      this.#schedule(this.#relay);
  }

  #afterRelayBlock(_block: StoredBlock): void {
    for (const para of this.#paras) {
      const data = this.validationData(para);
      if (data.downwardMessages.length || data.horizontalMessages.length) this.#schedule(para.chain);
    }
  }

  /** A block on `chain` soon, if it makes blocks on demand (interval and manual chains are left alone). */
  #schedule(chain: DevChain): void {
    if (this.#stopped || chain.production.mode !== 'instant' || this.#scheduled.has(chain)) return;
    this.#scheduled.add(chain);
    setImmediate(() => {
      this.#scheduled.delete(chain);
      if (this.#stopped) return;
      chain.produceBlock().catch((error) => {
        if (!this.#stopped)
          this.#logger.warn({ error: errorMessage(error) }, 'router: block production failed');
      });
    });
  }
}
