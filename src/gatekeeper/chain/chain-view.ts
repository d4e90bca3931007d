import type { Codec } from '@polkadot/types/types';
import { type Hex, fromHex } from '../../base/bytes.js';
import { queryPlain } from '../../phala/actions/common.js';
import type { PhalaClient } from '../../phala/client.js';
import { plainOf } from '../../phala/plain.js';
import { type ContractInfo, contractInfoSchema, parseChainData } from '../../phala/types.js';
import { ChainDataError } from '../../phala/errors.js';

/**
 * The few PhalaRegistry / PhalaContracts reads the gatekeeper needs beyond src/phala's actions
 * (all storage entries of a kind, history maps, the time of a given block), parsed like theirs:
 * hostile or unexpected data is a ChainDataError, never a crash.
 */

type EntriesQuery = ((...args: unknown[]) => Promise<Codec>) & {
  entries(...args: unknown[]): Promise<[{ args: Codec[] }, Codec][]>;
  key(...args: unknown[]): string;
};

function query(client: PhalaClient, pallet: string, item: string): EntriesQuery {
  const section = (client.api.query as unknown as Record<string, Record<string, EntriesQuery> | undefined>)[
    pallet
  ];
  const q = section?.[item];
  if (!q) throw new ChainDataError(`the chain has no storage ${pallet}.${item}`);
  return q;
}

function unwrap(value: Codec): Codec {
  const v = value as Codec & { isSome?: boolean; unwrap?: () => Codec };
  return typeof v.isSome === 'boolean' && v.unwrap ? v.unwrap() : value;
}

const hexValue = (value: unknown, what: string): Hex => {
  if (typeof value !== 'string' || !/^0x([0-9a-f]{2})*$/.test(value)) throw new ChainDataError(what);
  return value as Hex;
};

/** Every contract instance (PhalaContracts.Contracts). */
export async function listContracts(client: PhalaClient): Promise<{ contractId: Hex; info: ContractInfo }[]> {
  const entries = await query(client, 'phalaContracts', 'contracts').entries();
  return entries.map(([key, value]) => ({
    contractId: hexValue(plainOf(key.args[0]!), 'PhalaContracts.Contracts key'),
    info: parseChainData(contractInfoSchema, plainOf(unwrap(value)), 'PhalaContracts.Contracts'),
  }));
}

/** Master public keys by epoch (PhalaRegistry.MasterKeyHistory). */
export async function masterKeyHistory(client: PhalaClient): Promise<Map<number, Uint8Array>> {
  const entries = await query(client, 'phalaRegistry', 'masterKeyHistory').entries();
  const out = new Map<number, Uint8Array>();
  for (const [key, value] of entries) {
    const epoch = Number(String(plainOf(key.args[0]!)));
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new ChainDataError('PhalaRegistry.MasterKeyHistory key');
    out.set(epoch, fromHex(hexValue(plainOf(unwrap(value)), 'PhalaRegistry.MasterKeyHistory value')));
  }
  return out;
}

/** A contract's public keys by epoch (PhalaRegistry.ContractKeyHistory). */
export async function contractKeyHistory(client: PhalaClient, contractId: Hex): Promise<Map<number, Hex>> {
  const entries = await query(client, 'phalaRegistry', 'contractKeyHistory').entries(contractId);
  const out = new Map<number, Hex>();
  for (const [key, value] of entries) {
    const epoch = Number(String(plainOf(key.args[1]!)));
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new ChainDataError('PhalaRegistry.ContractKeyHistory key');
    out.set(epoch, hexValue(plainOf(unwrap(value)), 'PhalaRegistry.ContractKeyHistory value'));
  }
  return out;
}

/** The registration block a gatekeeper's recorded approval of `worker` is for, or null. */
export async function approvalBy(client: PhalaClient, worker: Hex, gatekeeper: Hex): Promise<number | null> {
  const value = await queryPlain(query(client, 'phalaRegistry', 'workerApprovals'), worker, gatekeeper);
  if (value === null) return null;
  const registeredAt = (value as { registeredAt?: unknown }).registeredAt;
  if (typeof registeredAt !== 'number') throw new ChainDataError('PhalaRegistry.WorkerApprovals value');
  return registeredAt;
}

/** Timestamp.Now (unix seconds) at a block, or at the best block when `blockHash` is omitted. */
export async function chainTime(client: PhalaClient, blockHash?: Hex): Promise<number> {
  const key = query(client, 'timestamp', 'now').key();
  const raw = (await (blockHash
    ? client.api.rpc.state.getStorage(key, blockHash)
    : client.api.rpc.state.getStorage(key))) as unknown as Codec & { isSome?: boolean; unwrap?: () => Codec };
  const bytes =
    typeof raw.isSome === 'boolean' ? (raw.isSome ? raw.unwrap!().toU8a(true) : null) : raw.toU8a(true);
  if (!bytes || bytes.length < 8) throw new ChainDataError('Timestamp.Now is not set');
  const ms = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return Number(ms / 1000n);
}
