import { ed25519 } from '@noble/curves/ed25519.js';
import { type Hex, concatBytes, fromHex, toHex } from '../../base/bytes.js';
import { LightClientError } from './errors.js';
import { type Authority, type Header, readHeader } from './header.js';
import { ScaleReader } from './scale.js';

export type SignedPrecommit = { targetHash: Hex; targetNumber: number; signature: Uint8Array; id: Hex };

/** sc-consensus-grandpa's `GrandpaJustification`, decoded. */
export type GrandpaJustification = {
  round: bigint;
  targetHash: Hex;
  targetNumber: number;
  precommits: SignedPrecommit[];
  votesAncestries: Header[];
};

/** `grandpa_proveFinality`'s `FinalityProof`: a justification for `block` and the headers up to it. */
export type FinalityProof = { block: Hex; justification: Uint8Array; unknownHeaders: Header[] };

const SIGNED_PRECOMMIT_SIZE = 32 + 4 + 64 + 32;
const MIN_HEADER_SIZE = 32 + 1 + 32 + 32 + 1;

function readJustification(r: ScaleReader): GrandpaJustification {
  const round = r.u64le();
  const targetHash = toHex(r.take(32));
  const targetNumber = r.u32le();
  const count = r.vecLength(SIGNED_PRECOMMIT_SIZE);
  const precommits: SignedPrecommit[] = [];
  for (let i = 0; i < count; i++) {
    precommits.push({
      targetHash: toHex(r.take(32)),
      targetNumber: r.u32le(),
      signature: r.take(64),
      id: toHex(r.take(32)),
    });
  }
  const ancestries = r.vecLength(MIN_HEADER_SIZE);
  const votesAncestries: Header[] = [];
  for (let i = 0; i < ancestries; i++) votesAncestries.push(readHeader(r));
  return { round, targetHash, targetNumber, precommits, votesAncestries };
}

export function decodeJustification(bytes: Uint8Array): GrandpaJustification {
  const r = new ScaleReader(bytes, 'GRANDPA justification');
  const justification = readJustification(r);
  r.end();
  return justification;
}

export function decodeFinalityProof(bytes: Uint8Array): FinalityProof {
  const r = new ScaleReader(bytes, 'GRANDPA finality proof');
  const block = toHex(r.take(32));
  const justification = r.vecU8();
  const count = r.vecLength(MIN_HEADER_SIZE);
  const unknownHeaders: Header[] = [];
  for (let i = 0; i < count; i++) unknownHeaders.push(readHeader(r));
  r.end();
  return { block, justification, unknownHeaders };
}

/**
 * The bytes a GRANDPA voter signs for a precommit: SCALE of
 * `(Message::Precommit(Precommit { target_hash, target_number }), round, set_id)`.
 */
export function precommitSigningPayload(p: {
  targetHash: Hex;
  targetNumber: number;
  round: bigint;
  setId: bigint;
}): Uint8Array {
  const tail = new Uint8Array(4 + 8 + 8);
  const view = new DataView(tail.buffer);
  view.setUint32(0, p.targetNumber, true);
  view.setBigUint64(4, p.round, true);
  view.setBigUint64(12, p.setId, true);
  return concatBytes(Uint8Array.of(1), fromHex(p.targetHash, 'targetHash', 32), tail);
}

/** Substrate's supermajority: total weight minus the most that may be faulty, `floor((n-1)/3)`. */
export function supermajorityThreshold(totalWeight: bigint): bigint {
  return totalWeight - (totalWeight - 1n) / 3n;
}

export type VerifyJustificationParameters = {
  justification: Uint8Array | GrandpaJustification;
  authorities: readonly Authority[];
  setId: bigint;
  expectedHash?: Hex | undefined;
  expectedNumber?: number | undefined;
};

export type VerifiedJustification = {
  targetHash: Hex;
  targetNumber: number;
  round: bigint;
  signedWeight: bigint;
};

/**
 * Checks a GRANDPA justification against an authority set, the way sc-consensus-grandpa does:
 * every precommit is from a distinct member of the set, validly signed for this round and set id,
 * and votes for the commit target or a descendant shown through `votes_ancestries` (each of which
 * must be used); the signers hold at least the supermajority of the set's weight.
 */
export function verifyJustification(p: VerifyJustificationParameters): VerifiedJustification {
  const j = p.justification instanceof Uint8Array ? decodeJustification(p.justification) : p.justification;
  const target = `${j.targetHash} #${j.targetNumber}`;
  if (p.expectedHash !== undefined && j.targetHash !== p.expectedHash.toLowerCase()) {
    throw new LightClientError('target-mismatch', 'The justification finalizes another block.', {
      details: `it finalizes ${target}, expected ${p.expectedHash}`,
    });
  }
  if (p.expectedNumber !== undefined && j.targetNumber !== p.expectedNumber) {
    throw new LightClientError('target-mismatch', 'The justification finalizes another block.', {
      details: `it finalizes ${target}, expected number ${p.expectedNumber}`,
    });
  }
  const weights = new Map<string, bigint>();
  let total = 0n;
  for (const a of p.authorities) {
    weights.set(a.id.toLowerCase(), a.weight);
    total += a.weight;
  }
  const ancestry = new Map<string, Header>();
  for (const h of j.votesAncestries) ancestry.set(h.hash, h);
  const used = new Set<string>();
  const signers = new Set<string>();
  let signedWeight = 0n;

  for (const [i, v] of j.precommits.entries()) {
    const weight = weights.get(v.id);
    if (weight === undefined) {
      throw new LightClientError(
        'signer-not-in-set',
        'A precommit is signed by a key outside the authority set.',
        {
          details: `precommit ${i} by ${v.id} (set id ${p.setId})`,
        },
      );
    }
    if (signers.has(v.id)) {
      throw new LightClientError(
        'duplicate-signer',
        'An authority signed two precommits in one justification.',
        {
          details: `precommit ${i} by ${v.id}`,
        },
      );
    }
    signers.add(v.id);
    const payload = precommitSigningPayload({ ...v, round: j.round, setId: p.setId });
    if (!ed25519.verify(v.signature, payload, fromHex(v.id, 'authority id', 32))) {
      throw new LightClientError('bad-signature', 'A precommit signature does not verify.', {
        details: `precommit ${i} by ${v.id} for round ${j.round}, set id ${p.setId}`,
      });
    }
    // The vote must be for the target or a descendant: follow parent links through the ancestry.
    let hash = v.targetHash;
    let number = v.targetNumber;
    while (hash !== j.targetHash) {
      const h = ancestry.get(hash);
      if (!h || h.number !== number || number <= j.targetNumber) {
        throw new LightClientError(
          'precommit-not-descendant',
          'A precommit votes for a block not shown to descend from the target.',
          {
            details: `precommit ${i} for ${v.targetHash} #${v.targetNumber}, target ${target}`,
          },
        );
      }
      used.add(hash);
      hash = h.parentHash;
      number -= 1;
    }
    if (number !== j.targetNumber) {
      throw new LightClientError(
        'precommit-not-descendant',
        'A precommit names the target with another number.',
        {
          details: `precommit ${i} for ${v.targetHash} #${v.targetNumber}, target ${target}`,
        },
      );
    }
    signedWeight += weight;
  }
  const threshold = supermajorityThreshold(total);
  if (signedWeight < threshold) {
    throw new LightClientError(
      'insufficient-weight',
      'The justification lacks a supermajority of the authority set.',
      {
        details: `signed weight ${signedWeight} of ${total}, ${threshold} needed`,
      },
    );
  }
  if (used.size !== ancestry.size) {
    throw new LightClientError('unused-ancestry', 'The justification carries headers no precommit needs.', {
      details: `${ancestry.size - used.size} of ${ancestry.size} unused`,
    });
  }
  return { targetHash: j.targetHash, targetNumber: j.targetNumber, round: j.round, signedWeight };
}
