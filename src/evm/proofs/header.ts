import { type Hex, keccak256, numberToHex, toRlp } from 'viem';
import { z } from 'zod';
import { HeaderHashMismatchError, MalformedHeaderError } from './errors.js';

const hexBytes = (size: number) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${size * 2}}$`), `${size} bytes of 0x-hex`)
    .transform((v) => v.toLowerCase() as Hex);
const hexData = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'even-length 0x-hex')
  .transform((v) => v.toLowerCase() as Hex);
/** A JSON-RPC quantity: 0x-hex without leading zeros. */
export const quantitySchema = z
  .string()
  .regex(/^0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)$/, 'a 0x-hex quantity')
  .transform((v) => BigInt(v));

/**
 * The header fields of an `eth_getBlockByNumber(n, false)` answer; other fields (transactions,
 * size, totalDifficulty...) are not part of the hash and are ignored. Fork fields are optional:
 * which are present tells the fork (checked in `headerFields`).
 */
export const evmBlockSchema = z.object({
  hash: hexBytes(32),
  parentHash: hexBytes(32),
  sha3Uncles: hexBytes(32),
  miner: hexBytes(20),
  stateRoot: hexBytes(32),
  transactionsRoot: hexBytes(32),
  receiptsRoot: hexBytes(32),
  logsBloom: hexBytes(256),
  difficulty: quantitySchema,
  number: quantitySchema,
  gasLimit: quantitySchema,
  gasUsed: quantitySchema,
  timestamp: quantitySchema,
  extraData: hexData,
  mixHash: hexBytes(32),
  nonce: hexBytes(8),
  baseFeePerGas: quantitySchema.optional(),
  withdrawalsRoot: hexBytes(32).optional(),
  blobGasUsed: quantitySchema.optional(),
  excessBlobGas: quantitySchema.optional(),
  parentBeaconBlockRoot: hexBytes(32).optional(),
  requestsHash: hexBytes(32).optional(),
});

export type EvmBlockHeader = z.output<typeof evmBlockSchema>;

/** Checks an untrusted block answer; throws MalformedHeaderError naming the bad fields. */
export function parseEvmBlock(raw: unknown): EvmBlockHeader {
  const result = evmBlockSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new MalformedHeaderError('block answer is not a header', {
    details: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  });
}

/** RLP of an integer: minimal big-endian bytes, zero as the empty string. */
function rlpQuantity(v: bigint): Hex {
  if (v === 0n) return '0x';
  const hex = numberToHex(v).slice(2);
  return `0x${hex.length % 2 ? '0' : ''}${hex}`;
}

/**
 * Header fields in consensus order for the block's fork: 15 legacy fields, then London's
 * baseFeePerGas, Shanghai's withdrawalsRoot, Cancun's blobGasUsed, excessBlobGas and
 * parentBeaconBlockRoot, Prague's requestsHash. A fork field without those of every earlier fork
 * is no header any client produces, so it is refused rather than guessed at.
 */
export function headerFields(h: EvmBlockHeader): Hex[] {
  const fields: Hex[] = [
    h.parentHash,
    h.sha3Uncles,
    h.miner,
    h.stateRoot,
    h.transactionsRoot,
    h.receiptsRoot,
    h.logsBloom,
    rlpQuantity(h.difficulty),
    rlpQuantity(h.number),
    rlpQuantity(h.gasLimit),
    rlpQuantity(h.gasUsed),
    rlpQuantity(h.timestamp),
    h.extraData,
    h.mixHash,
    h.nonce,
  ];
  const forks: (Hex | undefined)[][] = [
    [h.baseFeePerGas === undefined ? undefined : rlpQuantity(h.baseFeePerGas)],
    [h.withdrawalsRoot],
    [
      h.blobGasUsed === undefined ? undefined : rlpQuantity(h.blobGasUsed),
      h.excessBlobGas === undefined ? undefined : rlpQuantity(h.excessBlobGas),
      h.parentBeaconBlockRoot,
    ],
    [h.requestsHash],
  ];
  let ended = false;
  for (const fork of forks) {
    const present = fork.filter((f) => f !== undefined);
    if (present.length === 0) {
      ended = true;
      continue;
    }
    if (ended || present.length !== fork.length) {
      throw new MalformedHeaderError('header mixes fields of forks in an impossible way', {
        details: `block ${h.number}`,
      });
    }
    fields.push(...(present as Hex[]));
  }
  return fields;
}

/** The RLP encoding of the header (what the block hash is the keccak256 of). */
export function headerRlp(h: EvmBlockHeader): Hex {
  return toRlp(headerFields(h));
}

/** keccak256 of the header's RLP: the block hash recomputed, trusting nothing the node said about it. */
export function computeHeaderHash(h: EvmBlockHeader): Hex {
  return keccak256(headerRlp(h));
}

/** Refuses a header that does not hash to `expected` (by default, the hash the node claimed for it). */
export function verifyHeaderHash(h: EvmBlockHeader, expected: Hex = h.hash): void {
  const computed = computeHeaderHash(h);
  if (computed !== expected.toLowerCase()) throw new HeaderHashMismatchError(expected, computed);
}
