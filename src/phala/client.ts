import { ApiPromise, WsProvider } from '@polkadot/api';
import { hexToU8a } from '@polkadot/util';
import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import {
  NonceTracker,
  type SubmitOptions,
  type SubmitResult,
  type Signer,
  type Tx,
  submitExtrinsic,
} from './submit.js';
import { redactUrl } from '../base/redact-url.js';

/**
 * A connection to a Phala-style chain: the polkadot-js ApiPromise, the genesis hash (which every
 * signed payload binds), a per-signer nonce tracker, and submission defaults.
 */
export type PhalaClient = {
  readonly api: ApiPromise;
  readonly genesisHash: Uint8Array;
  readonly nonces: NonceTracker;
  readonly defaults: { waitFor: 'inBlock' | 'finalized'; timeoutMs: number };
};

export type CreatePhalaClientParameters =
  | {
      url: string;
      api?: undefined;
      waitFor?: 'inBlock' | 'finalized';
      timeoutMs?: number;
      connectTimeoutMs?: number;
    }
  | {
      api: ApiPromise;
      url?: undefined;
      waitFor?: 'inBlock' | 'finalized';
      timeoutMs?: number;
      connectTimeoutMs?: number;
    };

export class ConnectError extends BaseError {
  /** The node may be starting or briefly unreachable. */
  static override readonly retry: Retry = 'retry';
  override name = 'ConnectError';
}

/** Connects (or wraps an existing ApiPromise) and waits until the metadata is loaded. */
export async function createPhalaClient(parameters: CreatePhalaClientParameters): Promise<PhalaClient> {
  let api: ApiPromise;
  if (parameters.api) api = parameters.api;
  else {
    const provider = new WsProvider(parameters.url, 1_000, {}, parameters.connectTimeoutMs ?? 10_000);
    try {
      api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
    } catch (error) {
      await provider.disconnect().catch(() => {});
      throw new ConnectError(`cannot connect to ${redactUrl(parameters.url)}`, { cause: error });
    }
  }
  await api.isReady;
  return {
    api,
    genesisHash: hexToU8a(api.genesisHash.toHex()),
    nonces: new NonceTracker(),
    defaults: { waitFor: parameters.waitFor ?? 'inBlock', timeoutMs: parameters.timeoutMs ?? 60_000 },
  };
}

export async function closePhalaClient(client: PhalaClient): Promise<void> {
  await client.api.disconnect();
}

/** Submits with the client's defaults and nonce tracker. */
export function submit(
  client: PhalaClient,
  tx: Tx,
  signer: Signer,
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  return submitExtrinsic(client.api, tx, signer, {
    waitFor: client.defaults.waitFor,
    timeoutMs: client.defaults.timeoutMs,
    nonces: client.nonces,
    ...options,
  });
}

export function genesisHex(client: PhalaClient): Hex {
  return client.api.genesisHash.toHex() as Hex;
}
