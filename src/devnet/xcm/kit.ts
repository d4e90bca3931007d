import type { Pallet } from '../substrate/runtime/pallet.js';
import { type XcmChain, createXcmChain } from './chain.js';
import type { XcmChainConfig } from './config.js';
import { messageQueueParts } from './pallets/message-queue.js';
import {
  parachainInfoPallet,
  parachainSystemPallet,
  sendHorizontal,
  sendUpward,
  xcmpQueuePallet,
} from './pallets/parachain.js';
import {
  dmpPallet,
  hrmpPallet,
  paraInclusionPallet,
  paraInherentPallet,
  parasPallet,
  sendDownward,
} from './pallets/relay.js';
import { xcmPallet } from './pallets/xcm-pallet-calls.js';

/**
 * The XCM pallets a chain of the relay devnet adds to the dev node's chain kit, at the indices
 * real runtimes use: a parachain gets ParachainSystem 10, ParachainInfo 11, XcmpQueue 30,
 * PolkadotXcm 31, MessageQueue 33; the relay chain ParaInclusion 53, ParaInherent 54, Paras 56,
 * Dmp 58, Hrmp 60, XcmPallet 99, MessageQueue 100.
 */

export type IndexedPallet = { index: number; pallet: Pallet };

export const PARA_XCM_INDICES = {
  ParachainSystem: 10,
  ParachainInfo: 11,
  XcmpQueue: 30,
  PolkadotXcm: 31,
  MessageQueue: 33,
} as const;

export const RELAY_XCM_INDICES = {
  ParaInclusion: 53,
  ParaInherent: 54,
  Paras: 56,
  Dmp: 58,
  Hrmp: 60,
  XcmPallet: 99,
  MessageQueue: 100,
} as const;

export function paraXcmChain(config: XcmChainConfig): XcmChain {
  if (config.paraId === null) throw new Error('a parachain needs a para id');
  return createXcmChain(config, { ump: sendUpward, hrmp: sendHorizontal });
}

export function relayXcmChain(config: XcmChainConfig): XcmChain {
  if (config.paraId !== null) throw new Error('the relay chain has no para id');
  return createXcmChain(config, { dmp: sendDownward });
}

export function paraXcmPallets(chain: XcmChain): IndexedPallet[] {
  const I = PARA_XCM_INDICES;
  return [
    { index: I.ParachainSystem, pallet: parachainSystemPallet(() => chain) },
    { index: I.ParachainInfo, pallet: parachainInfoPallet(chain.config.paraId!) },
    { index: I.XcmpQueue, pallet: xcmpQueuePallet() },
    { index: I.PolkadotXcm, pallet: xcmPallet(chain) },
    { index: I.MessageQueue, pallet: messageQueueParts('para').pallet() },
  ];
}

export function relayXcmPallets(chain: XcmChain): IndexedPallet[] {
  const I = RELAY_XCM_INDICES;
  return [
    { index: I.ParaInclusion, pallet: paraInclusionPallet() },
    { index: I.ParaInherent, pallet: paraInherentPallet(() => chain) },
    { index: I.Paras, pallet: parasPallet(chain.config.paras) },
    { index: I.Dmp, pallet: dmpPallet() },
    { index: I.Hrmp, pallet: hrmpPallet() },
    { index: I.XcmPallet, pallet: xcmPallet(chain) },
    { index: I.MessageQueue, pallet: messageQueueParts('relay').pallet() },
  ];
}
