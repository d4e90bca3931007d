import { ed25519 } from '@noble/curves/ed25519.js';
import { compactToU8a } from '@polkadot/util';
import { type Hex, concatBytes, fromHex, toHex, utf8 } from '../../../src/base/bytes.js';
import { blake2_256 } from '../../../src/crypto/hash.js';

/**
 * Test-only SCALE encoders for what a Substrate node hands a light client (headers, GRANDPA
 * justifications, finality proofs), written apart from src/phala/light-client so the tests do not
 * check the decoder against itself.
 */

const u32le = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
};
const u64le = (n: bigint): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
};
const vec = (items: Uint8Array[]): Uint8Array => concatBytes(compactToU8a(items.length), ...items);
const bytesVec = (b: Uint8Array): Uint8Array => concatBytes(compactToU8a(b.length), b);

export type Voter = { secretKey: Uint8Array; id: Hex; weight: bigint };

export function newVoter(weight = 1n): Voter {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, id: toHex(ed25519.getPublicKey(secretKey)), weight };
}

export const authoritiesOf = (voters: Voter[]) => voters.map((v) => ({ id: v.id, weight: v.weight }));

/** `DigestItem::Consensus(engine, data)`. */
export function consensusItem(engine: string, data: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(4), utf8(engine), bytesVec(data));
}

/** `DigestItem::PreRuntime(engine, data)`, as block authorship puts in every header. */
export function preRuntimeItem(engine: string, data: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(6), utf8(engine), bytesVec(data));
}

const authorityList = (voters: { id: Hex; weight: bigint }[]): Uint8Array =>
  vec(voters.map((v) => concatBytes(fromHex(v.id, 'id', 32), u64le(v.weight))));

/** `ConsensusLog::ScheduledChange { next_authorities, delay }` in a FRNK digest item. */
export function scheduledChangeItem(next: { id: Hex; weight: bigint }[], delay: number): Uint8Array {
  return consensusItem('FRNK', concatBytes(Uint8Array.of(1), authorityList(next), u32le(delay)));
}

/** `ConsensusLog::ForcedChange(median, ScheduledChange)` in a FRNK digest item. */
export function forcedChangeItem(
  next: { id: Hex; weight: bigint }[],
  delay: number,
  median: number,
): Uint8Array {
  return consensusItem(
    'FRNK',
    concatBytes(Uint8Array.of(2), u32le(median), authorityList(next), u32le(delay)),
  );
}

export type TestHeader = {
  parentHash: Hex;
  number: number;
  stateRoot: Hex;
  extrinsicsRoot: Hex;
  digest: Uint8Array[];
};

export function encodeHeader(h: TestHeader): Uint8Array {
  return concatBytes(
    fromHex(h.parentHash, 'parentHash', 32),
    compactToU8a(h.number),
    fromHex(h.stateRoot, 'stateRoot', 32),
    fromHex(h.extrinsicsRoot, 'extrinsicsRoot', 32),
    vec(h.digest),
  );
}

export const hashOf = (h: TestHeader): Hex => toHex(blake2_256(encodeHeader(h)));

/** The header as `chain_getHeader` answers it. */
export function headerJson(h: TestHeader) {
  return {
    parentHash: h.parentHash,
    number: `0x${h.number.toString(16)}`,
    stateRoot: h.stateRoot,
    extrinsicsRoot: h.extrinsicsRoot,
    digest: { logs: h.digest.map((d) => toHex(d)) },
  };
}

export type Precommit = { targetHash: Hex; targetNumber: number; signature: Uint8Array; id: Hex };

export function signPrecommit(
  voter: Voter,
  p: { targetHash: Hex; targetNumber: number; round: bigint; setId: bigint },
): Precommit {
  const message = concatBytes(
    Uint8Array.of(1), // Message::Precommit
    fromHex(p.targetHash, 'targetHash', 32),
    u32le(p.targetNumber),
    u64le(p.round),
    u64le(p.setId),
  );
  return {
    targetHash: p.targetHash,
    targetNumber: p.targetNumber,
    signature: ed25519.sign(message, voter.secretKey),
    id: voter.id,
  };
}

export function encodeJustification(j: {
  round: bigint;
  targetHash: Hex;
  targetNumber: number;
  precommits: Precommit[];
  ancestries?: TestHeader[];
}): Uint8Array {
  return concatBytes(
    u64le(j.round),
    fromHex(j.targetHash, 'targetHash', 32),
    u32le(j.targetNumber),
    vec(
      j.precommits.map((p) =>
        concatBytes(
          fromHex(p.targetHash, 'hash', 32),
          u32le(p.targetNumber),
          p.signature,
          fromHex(p.id, 'id', 32),
        ),
      ),
    ),
    vec((j.ancestries ?? []).map(encodeHeader)),
  );
}

/** A justification for `target` signed by each of `voters` (all precommitting the target itself). */
export function justify(
  voters: Voter[],
  target: { hash: Hex; number: number },
  p: { round?: bigint; setId: bigint },
): Uint8Array {
  const round = p.round ?? 1n;
  return encodeJustification({
    round,
    targetHash: target.hash,
    targetNumber: target.number,
    precommits: voters.map((v) =>
      signPrecommit(v, { targetHash: target.hash, targetNumber: target.number, round, setId: p.setId }),
    ),
  });
}

/** `FinalityProof { block, justification, unknown_headers }`. */
export function encodeFinalityProof(
  block: Hex,
  justification: Uint8Array,
  unknownHeaders: TestHeader[],
): Uint8Array {
  return concatBytes(
    fromHex(block, 'block', 32),
    bytesVec(justification),
    vec(unknownHeaders.map(encodeHeader)),
  );
}
