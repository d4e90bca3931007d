import { verifyMerkleProof } from '@ethereumjs/mpt';
import {
  type Address,
  type Hex,
  bytesToHex,
  fromRlp,
  getAddress,
  hexToBytes,
  isAddressEqual,
  keccak256,
  numberToHex,
  pad,
} from 'viem';
import { z } from 'zod';
import {
  AccountMismatchError,
  IncompleteProofError,
  MalformedProofError,
  ProofRootMismatchError,
} from './errors.js';
import { quantitySchema } from './header.js';
import type { EvmEndpoint } from './rpc.js';

/** Root of an empty trie: keccak256(rlp('')). */
export const EMPTY_TRIE_ROOT: Hex = keccak256('0x80');
/** Code hash of an account without code. */
export const EMPTY_CODE_HASH: Hex = keccak256('0x');
const ZERO_WORD: Hex = `0x${'00'.repeat(32)}`;

const hexData = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/, 'even-length 0x-hex');
const hash32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, '32 bytes of 0x-hex')
  .transform((v) => v.toLowerCase() as Hex);

/** An EIP-1186 `eth_getProof` answer (only the proofs are trusted; the claimed fields are cross-checked). */
export const proofAnswerSchema = z.object({
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte address'),
  balance: quantitySchema,
  nonce: quantitySchema,
  codeHash: hash32,
  storageHash: hash32,
  accountProof: z.array(hexData).max(64),
  storageProof: z
    .array(
      z.object({
        // Nodes echo the key as asked or as a quantity; it is compared by value.
        key: z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'a storage key'),
        value: quantitySchema,
        proof: z.array(hexData).max(64),
      }),
    )
    .max(1024),
});

export type ProofAnswer = z.output<typeof proofAnswerSchema>;

/** The account leaf as proven against a state root. */
export type ProvenAccount = { nonce: bigint; balance: bigint; storageRoot: Hex; codeHash: Hex };

export type VerifiedAccountState = {
  /** null when the state root proves the account does not exist. */
  account: ProvenAccount | null;
  /** Proven value of each slot (32-byte word; zero for absent), keyed by the slot as a 32-byte lowercase word. */
  values: Map<Hex, Hex>;
};

/** A storage slot as a 32-byte lowercase word, the form eth_getProof and the trie key use. */
export function slotWord(slot: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(slot)) {
    throw new MalformedProofError('storage slot is not 1 to 32 bytes of 0x-hex', { details: slot });
  }
  return pad(slot.length % 2 ? `0x0${slot.slice(2)}` : slot, { size: 32 }).toLowerCase() as Hex;
}

type RlpItem = Uint8Array | RlpItem[];

function decodeRlp(data: Hex | Uint8Array, what: string): RlpItem {
  try {
    return fromRlp(data, 'bytes') as RlpItem;
  } catch (error) {
    throw new MalformedProofError(`${what} is not valid RLP`, { cause: error });
  }
}

/** A minimal big-endian integer from an RLP string (RLP forbids leading zeros in integers). */
function rlpInteger(item: RlpItem, what: string, maxBytes: number): bigint {
  if (!(item instanceof Uint8Array) || item.length > maxBytes || item[0] === 0) {
    throw new MalformedProofError(`${what} is not a canonical integer`);
  }
  return item.length === 0 ? 0n : BigInt(bytesToHex(item));
}

/**
 * The value stored under `key` (already hashed: the secure trie's path) in the trie with root
 * `root`, as proven by `proof` (root first), or null when the proof shows it absent.
 *
 * The walk itself is @ethereumjs/mpt's; it reports every failure as one untyped error, so the
 * cases that must be told apart are checked here first: each node is a branch (17 items) or a
 * leaf/extension (2), and the first node hashes to the root. What the walk still refuses after
 * that is a proof that does not reach the key: a missing (truncated) or substituted node.
 */
export async function proveTrieValue(root: Hex, key: Uint8Array, proof: readonly Hex[], what: string) {
  const normalizedRoot = root.toLowerCase() as Hex;
  if (proof.length === 0) {
    if (normalizedRoot === EMPTY_TRIE_ROOT) return null;
    throw new IncompleteProofError(`${what}: empty proof for a non-empty trie`);
  }
  if (keccak256(proof[0] as Hex) !== normalizedRoot) {
    throw new ProofRootMismatchError(`${what}: proof is for another root`, {
      details: `expected ${normalizedRoot}, first node hashes to ${keccak256(proof[0] as Hex)}`,
    });
  }
  // The empty trie's only node is the empty string; nothing is stored in it.
  if (normalizedRoot === EMPTY_TRIE_ROOT) return null;
  for (const [i, node] of proof.entries()) {
    const item = decodeRlp(node, `${what}: node ${i}`);
    if (!Array.isArray(item) || (item.length !== 2 && item.length !== 17)) {
      throw new MalformedProofError(`${what}: node ${i} is neither a branch nor a leaf/extension`);
    }
  }
  try {
    const value = await verifyMerkleProof(
      key,
      proof.map((n) => hexToBytes(n)),
      { root: hexToBytes(normalizedRoot), useKeyHashing: false },
    );
    return value && value.length > 0 ? value : null;
  } catch (error) {
    throw new IncompleteProofError(`${what}: proof does not reach the key`, { cause: error });
  }
}

/** The account of `address` in the state with root `stateRoot`, or null when proven absent. */
export async function verifyAccountProof(
  stateRoot: Hex,
  address: Address,
  accountProof: readonly Hex[],
): Promise<ProvenAccount | null> {
  const leaf = await proveTrieValue(stateRoot, hexToBytes(keccak256(address)), accountProof, 'account proof');
  if (!leaf) return null;
  const item = decodeRlp(leaf, 'account');
  if (!Array.isArray(item) || item.length !== 4)
    throw new MalformedProofError('account is not [nonce, balance, storageRoot, codeHash]');
  const [nonce, balance, storageRoot, codeHash] = item as [RlpItem, RlpItem, RlpItem, RlpItem];
  if (!(storageRoot instanceof Uint8Array) || storageRoot.length !== 32) {
    throw new MalformedProofError('account storage root is not 32 bytes');
  }
  if (!(codeHash instanceof Uint8Array) || codeHash.length !== 32) {
    throw new MalformedProofError('account code hash is not 32 bytes');
  }
  return {
    nonce: rlpInteger(nonce, 'account nonce', 8),
    balance: rlpInteger(balance, 'account balance', 32),
    storageRoot: bytesToHex(storageRoot),
    codeHash: bytesToHex(codeHash),
  };
}

/** The 32-byte word stored in `slot` of the storage trie with root `storageRoot` (zero when absent). */
export async function verifyStorageProof(storageRoot: Hex, slot: Hex, proof: readonly Hex[]): Promise<Hex> {
  const word = slotWord(slot);
  const leaf = await proveTrieValue(
    storageRoot,
    hexToBytes(keccak256(word)),
    proof,
    `storage proof of ${word}`,
  );
  if (!leaf) return ZERO_WORD;
  // The leaf holds the RLP of the value with its leading zero bytes trimmed.
  const value = rlpInteger(decodeRlp(leaf, `storage value of ${word}`), `storage value of ${word}`, 32);
  return numberToHex(value, { size: 32 });
}

/**
 * Checks an untrusted eth_getProof answer for `address` and `slots` against a verified state root
 * and returns the proven account and slot values. The claimed account fields must equal the proven
 * ones (a node that lies there lies elsewhere too); the claimed slot values are never used.
 */
export async function verifyProofAnswer(p: {
  stateRoot: Hex;
  address: Address;
  slots: readonly Hex[];
  answer: unknown;
}): Promise<VerifiedAccountState> {
  const parsed = proofAnswerSchema.safeParse(p.answer);
  if (!parsed.success) {
    throw new MalformedProofError('eth_getProof answer has the wrong shape', {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    });
  }
  const answer = parsed.data;
  if (!isAddressEqual(getAddress(answer.address), p.address)) {
    throw new AccountMismatchError('eth_getProof answered for another account', {
      details: `asked ${p.address}, got ${answer.address}`,
    });
  }
  const account = await verifyAccountProof(p.stateRoot, p.address, answer.accountProof as Hex[]);
  if (
    account &&
    (account.nonce !== answer.nonce ||
      account.balance !== answer.balance ||
      account.storageRoot !== answer.storageHash ||
      account.codeHash !== answer.codeHash)
  ) {
    throw new AccountMismatchError('claimed account fields differ from the proven account', {
      details: p.address,
    });
  }
  const values = new Map<Hex, Hex>();
  for (const slot of p.slots) {
    const word = slotWord(slot);
    if (values.has(word)) continue;
    if (!account) {
      // The state root proves the account absent: every slot of it is zero.
      values.set(word, ZERO_WORD);
      continue;
    }
    const entry = answer.storageProof.find((s) => BigInt(s.key) === BigInt(word));
    if (!entry) throw new IncompleteProofError(`no storage proof for slot ${word}`);
    values.set(word, await verifyStorageProof(account.storageRoot, word, entry.proof as Hex[]));
  }
  return { account, values };
}

/** Asks one endpoint for the proof of `slots` of `address` at `blockNumber` (answer unchecked). */
export function requestProof(
  endpoint: EvmEndpoint,
  address: Address,
  slots: readonly Hex[],
  blockNumber: bigint,
): Promise<unknown> {
  return endpoint.request('eth_getProof', [address, slots.map(slotWord), numberToHex(blockNumber)]);
}
