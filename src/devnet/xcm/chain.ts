import type { Env } from '../substrate/runtime/context.js';
import { TransactionPayment } from '../substrate/pallets/transaction-payment.js';
import { type AssetTransactor, assetTransactor } from './assets.js';
import type { XcmChainConfig } from './config.js';
import { withXcmMessage } from './current-message.js';
import type { ExecutorEnvironment } from './executor.js';
import { type MessageQueueParts, messageQueueParts } from './pallets/message-queue.js';
import { type XcmPalletParts, xcmPalletParts } from './pallets/xcm-pallet.js';

/**
 * One chain's XCM: its config, the pallet_xcm and message queue parts it emits events and keeps
 * state with, the executor's environment, and the transports its pallets register (UMP and HRMP
 * on a parachain, DMP on the relay chain).
 */

export type Transport = {
  /** Parachain → relay chain. */
  ump?(env: Env, message: Uint8Array): void;
  /** Parachain → sibling parachain (through the relay chain). */
  hrmp?(env: Env, recipient: number, message: Uint8Array): void;
  /** Relay chain → parachain. */
  dmp?(env: Env, recipient: number, message: Uint8Array): void;
};

export type XcmChain = {
  readonly config: XcmChainConfig;
  readonly xcm: XcmPalletParts;
  readonly mq: MessageQueueParts;
  readonly assets: AssetTransactor;
  readonly executor: ExecutorEnvironment;
  readonly transport: Transport;
};

export function createXcmChain(config: XcmChainConfig, transport: Transport): XcmChain {
  const xcm = xcmPalletParts(config.xcmPallet);
  const mq = messageQueueParts(config.paraId === null ? 'relay' : 'para');
  const assets = assetTransactor(config, {
    balance: (env, asset, account) => xcm.storage.DerivativeBalances.get(env, asset, account) ?? 0n,
    set: (env, asset, account, amount) => {
      if (amount === 0n) xcm.storage.DerivativeBalances.remove(env, asset, account);
      else xcm.storage.DerivativeBalances.set(env, asset, account, amount);
    },
  });
  return {
    config,
    xcm,
    mq,
    assets,
    transport,
    executor: {
      config,
      assets,
      weightToFee: (env, weight) => TransactionPayment.weightToFee(env, weight),
      withMessage: (env, message, fn) => withXcmMessage(env, message, fn),
    },
  };
}
