import { blake2_256 } from '../../crypto/hash.js';
import { encodeLocation } from '../../xcm/encode.js';
import type { LocationJson } from '../../xcm/location.js';
import { Balances } from '../substrate/pallets/balances.js';
import type { Env } from '../substrate/runtime/context.js';
import type { XcmChainConfig } from './config.js';
import { locationToAccount, parseLocation } from './locations.js';

/**
 * Assets in the executor: the holding register, and the asset transactor that moves them in and
 * out of accounts. The chain's own token (`Here`) is its Balances pallet (xcm-builder's
 * FungibleAdapter: withdraw burns, deposit mints); assets of other chains that arrive with
 * ReserveAssetDeposited are kept in a small derivative ledger by asset location.
 */

export type HoldingAsset = { id: LocationJson; amount: bigint };
export type Holding = Map<string, HoldingAsset>;

/** A canonical key for an asset id: its V5 SCALE encoding (so JSON spellings cannot differ). */
export function assetKey(id: LocationJson): string {
  try {
    return encodeLocation({ v5: id }).hex;
  } catch {
    return `json:${JSON.stringify(id)}`;
  }
}

/** The 32-byte key derivative balances are stored under. */
export function assetHash(id: LocationJson): Uint8Array {
  return blake2_256(new TextEncoder().encode(assetKey(id)));
}

export type DerivativeLedger = {
  balance(env: Env, asset: Uint8Array, account: Uint8Array): bigint;
  set(env: Env, asset: Uint8Array, account: Uint8Array, amount: bigint): void;
};

/** What an instruction does with assets; each returns null, or the XcmError name of its failure. */
export type AssetTransactor = {
  isNative(id: LocationJson): boolean;
  withdraw(env: Env, asset: HoldingAsset, from: LocationJson): string | null;
  deposit(env: Env, asset: HoldingAsset, to: LocationJson): string | null;
};

export function assetTransactor(config: XcmChainConfig, ledger: DerivativeLedger): AssetTransactor {
  const isNative = (id: LocationJson) => {
    const parsed = parseLocation(id);
    return parsed !== null && parsed.parents === 0 && parsed.junctions.length === 0;
  };
  return {
    isNative,
    withdraw(env, asset, from) {
      const account = locationToAccount(from, config);
      if (!account) return 'FailedToTransactAsset';
      if (isNative(asset.id)) {
        try {
          Balances.withdrawFee(env, account, asset.amount);
          return null;
        } catch {
          return 'FailedToTransactAsset';
        }
      }
      const key = assetHash(asset.id);
      const balance = ledger.balance(env, key, account);
      if (balance < asset.amount) return 'FailedToTransactAsset';
      ledger.set(env, key, account, balance - asset.amount);
      return null;
    },
    deposit(env, asset, to) {
      const account = locationToAccount(to, config);
      if (!account) return 'FailedToTransactAsset';
      if (isNative(asset.id)) {
        if (Balances.free(env, account) + asset.amount < Balances.existentialDeposit(env))
          return 'FailedToTransactAsset';
        Balances.mint(env, account, asset.amount);
        return null;
      }
      const key = assetHash(asset.id);
      ledger.set(env, key, account, ledger.balance(env, key, account) + asset.amount);
      return null;
    },
  };
}
