import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { TypeRegistry } from '@polkadot/types';
import { u8aToHex } from '@polkadot/util';
import { BaseError, type Retry } from '../../../base/errors.js';

/**
 * The dev node's finality gadget, reduced to what a light client checks: a fixed GRANDPA
 * authority set (ed25519, set id 0, no set changes) whose every member signs a precommit for each
 * finalized block. Formats are Substrate's own (finality-grandpa / sc-consensus-grandpa):
 *
 *   signed message   SCALE (Message::Precommit(Precommit { target_hash, target_number }), round: u64, set_id: u64)
 *                    = 0x01 ‖ target_hash ‖ u32le(number) ‖ u64le(round) ‖ u64le(set_id)
 *   justification    GrandpaJustification { round, commit: Commit { target_hash, target_number,
 *                    precommits: Vec<SignedPrecommit { precommit, signature, id }> }, votes_ancestries: Vec<Header> }
 *   finality proof   FinalityProof { block: H256, justification: Vec<u8>, unknown_headers: Vec<Header> }
 *   genesis storage  `:grandpa_authorities` = 0x01 (version) ‖ Vec<(ed25519 public, u64 weight)>
 *
 * Every block is finalized in its own round and all precommits target the block itself, so
 * votes_ancestries and unknown_headers are empty and the round number is the block number (which
 * keeps justifications the same across restarts; ed25519 signatures are deterministic).
 */

/** GRANDPA's consensus engine id (`FRNK`), as in block justifications and header digests. */
export const GRANDPA_ENGINE_ID = Uint8Array.from([70, 82, 78, 75]);
/** `:grandpa_authorities`, the well-known storage key pallet-grandpa keeps the current set under. */
export const GRANDPA_AUTHORITIES_KEY = u8aToHex(new TextEncoder().encode(':grandpa_authorities'));
/** The `finality-grandpa` Message enum index of a precommit (Prevote 0, Precommit 1, PrimaryPropose 2). */
const PRECOMMIT = 1;
const SET_ID = 0n;

export type GrandpaAuthority = { publicKey: Uint8Array; weight: bigint };

/** What a light client pins (the worker config's finality section). */
export type GrandpaSetInfo = {
  genesisHash: `0x${string}`;
  setId: number;
  /** [ed25519 public key hex, weight]. */
  authorities: [`0x${string}`, number][];
};

export type GrandpaErrorReason = 'NoAuthorities' | 'DuplicateAuthority' | 'BadAuthorityUri';

export class GrandpaConfigError extends BaseError {
  static override readonly retry: Retry = 'after-fix';
  override name = 'GrandpaConfigError';
  constructor(
    readonly reason: GrandpaErrorReason,
    message: string,
    parameters: { details?: string; cause?: unknown } = {},
  ) {
    super(message, {
      ...parameters,
      docsPath: 'docs/substrate-devnode.md#finality-justifications-and-read-proofs',
    });
  }
}

// polkadot-js knows the GRANDPA types (the same definitions it decodes node answers with);
// FinalityProof is not among them, so it is registered here after sc-consensus-grandpa's struct.
const registry = new TypeRegistry();
registry.register({
  DevFinalityProof: { block: 'H256', justification: 'Bytes', unknownHeaders: 'Vec<Header>' },
});

/** The bytes an authority signs for a precommit. */
export function precommitPayload(
  targetHash: Uint8Array,
  targetNumber: number,
  round: bigint,
  setId: bigint,
): Uint8Array {
  const out = new Uint8Array(1 + 32 + 4 + 8 + 8);
  const view = new DataView(out.buffer);
  out[0] = PRECOMMIT;
  out.set(targetHash, 1);
  view.setUint32(33, targetNumber, true);
  view.setBigUint64(37, round, true);
  view.setBigUint64(45, setId, true);
  return out;
}

export class GrandpaVoters {
  readonly setId = SET_ID;
  readonly #pairs: KeyringPair[];
  readonly authorities: GrandpaAuthority[];

  private constructor(pairs: KeyringPair[]) {
    this.#pairs = pairs;
    this.authorities = pairs.map((p) => ({ publicKey: p.publicKey, weight: 1n }));
  }

  /**
   * Voters from dev seeds or secret URIs (`//Alice`, a mnemonic with a path, a 0x seed), each of
   * weight 1. Needs cryptoWaitReady() first.
   */
  static fromUris(uris: readonly string[]): GrandpaVoters {
    if (uris.length === 0)
      throw new GrandpaConfigError('NoAuthorities', 'GRANDPA needs at least one authority');
    const keyring = new Keyring({ type: 'ed25519' });
    const pairs = uris.map((uri) => {
      try {
        return keyring.addFromUri(uri);
      } catch (error) {
        // The URI may hold a secret: name its position only.
        throw new GrandpaConfigError('BadAuthorityUri', 'a GRANDPA authority URI is not a valid secret URI', {
          details: `authority ${uris.indexOf(uri)}`,
          cause: error,
        });
      }
    });
    const seen = new Set<string>();
    for (const pair of pairs) {
      const hex = u8aToHex(pair.publicKey);
      if (seen.has(hex))
        throw new GrandpaConfigError('DuplicateAuthority', `GRANDPA authority ${hex} is listed twice`);
      seen.add(hex);
    }
    return new GrandpaVoters(pairs);
  }

  /** `:grandpa_authorities`' value: VersionedAuthorityList (version 1, AuthorityList). */
  authorityListStorage(): Uint8Array {
    const list = registry
      .createType(
        'AuthorityList',
        this.authorities.map((a) => [a.publicKey, a.weight]),
      )
      .toU8a();
    const out = new Uint8Array(1 + list.length);
    out[0] = 1;
    out.set(list, 1);
    return out;
  }

  info(genesisHash: Uint8Array): GrandpaSetInfo {
    return {
      genesisHash: u8aToHex(genesisHash),
      setId: Number(this.setId),
      authorities: this.authorities.map((a) => [u8aToHex(a.publicKey), Number(a.weight)]),
    };
  }

  /** Total weight and the supermajority a commit needs (`total - floor((total - 1) / 3)`, as finality-grandpa). */
  weights(): { total: number; threshold: number } {
    const total = this.authorities.reduce((sum, a) => sum + Number(a.weight), 0);
    return { total, threshold: total - Math.floor((total - 1) / 3) };
  }

  /** The SCALE GrandpaJustification finalizing (hash, number), signed by every authority. */
  justify(targetHash: Uint8Array, targetNumber: number): Uint8Array {
    const round = BigInt(targetNumber);
    const payload = precommitPayload(targetHash, targetNumber, round, this.setId);
    const precommit = { targetHash, targetNumber };
    return registry
      .createType('GrandpaJustification', {
        round,
        commit: {
          targetHash,
          targetNumber,
          precommits: this.#pairs.map((pair) => ({
            precommit,
            signature: pair.sign(payload),
            id: pair.publicKey,
          })),
        },
        votesAncestries: [],
      })
      .toU8a();
  }
}

/** SCALE FinalityProof for a block whose own justification proves it (no unknown headers). */
export function encodeFinalityProof(blockHash: Uint8Array, justification: Uint8Array): Uint8Array {
  return (
    registry
      // Bytes reads a Uint8Array as already length-prefixed; hex is taken as the content.
      .createType('DevFinalityProof', {
        block: blockHash,
        justification: u8aToHex(justification),
        unknownHeaders: [],
      })
      .toU8a()
  );
}
