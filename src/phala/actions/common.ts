import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import { type Hex, fromHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import { type PhalaClient, submit } from '../client.js';
import { ChainDataError, DispatchFailedError } from '../errors.js';
import { describeDispatchError } from '../events.js';
import { type Plain, plainOf } from '../plain.js';
import type { Signer, SubmitOptions, SubmitResult } from '../submit.js';
import { type PhalaEvent, type PhalaEventOf, parsePhalaEvent } from '../types.js';

export type Bytes = Hex | Uint8Array;

/** Bytes given as hex or Uint8Array, as lower-case 0x-hex (optionally of an exact length). */
export function hexOf(value: Bytes, field: string, length?: number): Hex {
  const bytes = typeof value === 'string' ? fromHex(value, field) : value;
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError(field, 'bytes');
  if (length !== undefined && bytes.length !== length) throw new InvalidInputError(field, `${length} bytes`);
  return u8aToHex(bytes) as Hex;
}

export function bytesOf(value: Bytes, field: string): Uint8Array {
  return typeof value === 'string' ? fromHex(value, field) : value;
}

export type ActionOptions = Omit<SubmitOptions, 'nonces'>;

/** A submission whose result includes the first Phala event of a given type. */
export async function submitFor<N extends PhalaEvent['type']>(
  client: PhalaClient,
  tx: SubmittableExtrinsic<'promise'>,
  signer: Signer,
  type: N,
  options: ActionOptions = {},
): Promise<SubmitResult & { event: PhalaEventOf<N> }> {
  const result = await submit(client, tx, signer, options);
  for (const e of result.events) {
    const parsed = parsePhalaEvent(e);
    if (parsed?.type === type) return { ...result, event: parsed as PhalaEventOf<N> };
  }
  throw new ChainDataError(`no ${type} event for ${result.txHash}`);
}

/**
 * Wraps a call in `sudo.sudo` and fails with the inner call's error if Sudo.Sudid reports one
 * (the outer extrinsic succeeds either way, as in FRAME).
 */
export async function submitSudo(
  client: PhalaClient,
  call: SubmittableExtrinsic<'promise'>,
  sudo: Signer,
  options: ActionOptions = {},
): Promise<SubmitResult> {
  const result = await submit(client, client.api.tx.sudo.sudo(call), sudo, options);
  const sudid = result.events.find((e) => e.section === 'sudo' && e.name === 'Sudid');
  if (!sudid) throw new ChainDataError(`no Sudo.Sudid event for ${result.txHash}`);
  const outcome = sudid.fields.sudoResult as Plain;
  if (outcome && typeof outcome === 'object' && !Array.isArray(outcome) && 'Err' in outcome) {
    const error = client.api.registry.createType('DispatchError', outcome.Err as never);
    const described = describeDispatchError(client.api, error as never);
    throw new DispatchFailedError(described.pallet, described.error, {
      docs: described.docs,
      txHash: result.txHash,
      blockHash: result.blockHash,
      raw: outcome.Err,
    });
  }
  return result;
}

/** Reads a storage entry as a plain value (null when absent). */
export async function queryPlain(
  query: ((...args: unknown[]) => Promise<Codec>) & unknown,
  ...args: unknown[]
): Promise<Plain> {
  const value = (await query(...args)) as Codec & {
    isNone?: boolean;
    isSome?: boolean;
    unwrap?: () => Codec;
  };
  if (typeof value.isNone === 'boolean' && typeof value.unwrap === 'function')
    return value.isNone ? null : plainOf(value.unwrap());
  return plainOf(value);
}
