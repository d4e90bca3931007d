import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode_proof } from '@acala-network/chopsticks-executor';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Keyring } from '@polkadot/keyring';
import { compactFromU8a, hexToU8a, u8aConcat, u8aEq, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, xxhashAsU8a } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirError } from '../../src/devnet/substrate/chain/persistence.js';
import { startDevNode } from '../../src/devnet/substrate/node.js';
import { readProof } from '../../src/devnet/substrate/storage/read-proof.js';
import { StateDb } from '../../src/devnet/substrate/storage/state-db.js';
import { RawRpc, type TestNode, notificationOf, startTestNode } from './helpers.js';

/**
 * GRANDPA finality and read proofs as a light client sees them over the real JSON-RPC: the bytes
 * are taken apart here by hand after Substrate's layout (not with the node's encoder), every
 * precommit signature is checked with @noble/curves against the authority set, and read proofs
 * are walked from the header's state root with a small sp-trie node decoder written in this file
 * (and decoded by smoldot's proof decoder in chopsticks' wasm).
 */

const AUTHORITIES = ['//Alice', '//Bob', '//Charlie'];
/** The well-known ed25519 key of //Alice (Substrate dev chains' GRANDPA key). */
const ALICE_ED25519 = '0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee';

let t: TestNode;
let raw: RawRpc;

beforeAll(async () => {
  t = await startTestNode({ manualSeal: true, finalityDelayMs: 0, grandpaAuthorities: AUTHORITIES });
  raw = new RawRpc(t.node.wsUrl);
  await raw.opened;
});
afterAll(async () => {
  raw?.close();
  await t?.stop();
});

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  const response = await raw.call(method, params);
  if (response.error) throw new Error(`${method}: ${response.error.message}`);
  return response.result;
}

// ---------------------------------------------------------------------------- independent decoding

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new Error('read past the end');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u32(): number {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 4);
    this.take(4);
    return view.getUint32(0, true);
  }
  u64(): bigint {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 8);
    this.take(8);
    return view.getBigUint64(0, true);
  }
  compact(): number {
    const [length, value] = compactFromU8a(this.bytes.subarray(this.offset));
    this.offset += length;
    return value.toNumber();
  }
  done(): boolean {
    return this.offset === this.bytes.length;
  }
}

type Precommit = { targetHash: Uint8Array; targetNumber: number; signature: Uint8Array; id: Uint8Array };
type Justification = { round: bigint; targetHash: Uint8Array; targetNumber: number; precommits: Precommit[] };

function decodeJustification(bytes: Uint8Array): Justification {
  const r = new Reader(bytes);
  const round = r.u64();
  const targetHash = r.take(32);
  const targetNumber = r.u32();
  const precommits: Precommit[] = [];
  for (let i = r.compact(); i > 0; i--) {
    precommits.push({ targetHash: r.take(32), targetNumber: r.u32(), signature: r.take(64), id: r.take(32) });
  }
  expect(r.compact(), 'votes_ancestries').toBe(0);
  expect(r.done()).toBe(true);
  return { round, targetHash, targetNumber, precommits };
}

function u64le(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}
function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** Finality-grandpa's check: known signers, once each, valid signatures, a two-thirds+ weight. */
function verify(j: Justification, authorities: [string, number][], setId: bigint, round = j.round): boolean {
  const weights = new Map(authorities.map(([id, w]) => [id, w]));
  const total = authorities.reduce((s, [, w]) => s + w, 0);
  const seen = new Set<string>();
  let weight = 0;
  for (const p of j.precommits) {
    const id = u8aToHex(p.id);
    if (!weights.has(id) || seen.has(id)) return false;
    if (!u8aEq(p.targetHash, j.targetHash) || p.targetNumber !== j.targetNumber) return false;
    const message = u8aConcat([1], p.targetHash, u32le(p.targetNumber), u64le(round), u64le(setId));
    if (!ed25519.verify(p.signature, message, p.id)) return false;
    seen.add(id);
    weight += weights.get(id)!;
  }
  return weight >= total - Math.floor((total - 1) / 3);
}

function headerHash(header: { number: string } & Record<string, unknown>): Uint8Array {
  return hexToU8a(t.node.chain.blockByNumber(Number(header.number))!.hashHex);
}

// ---------------------------------------------------------------------------- authority set

describe('GRANDPA authority set', () => {
  it('is the configured ed25519 keys, weight 1, set id 0, also in :grandpa_authorities', async () => {
    const keyring = new Keyring({ type: 'ed25519' });
    const expected = AUTHORITIES.map((uri) => u8aToHex(keyring.addFromUri(uri).publicKey));
    expect(expected[0]).toBe(ALICE_ED25519);
    const info = t.node.grandpa;
    expect(info.genesisHash).toBe(t.node.chain.genesis.hashHex);
    expect(info.setId).toBe(0);
    expect(info.authorities).toEqual(expected.map((id) => [id, 1]));
    // VersionedAuthorityList: version 1, then Vec<(public, u64 weight)>.
    const key = u8aToHex(new TextEncoder().encode(':grandpa_authorities'));
    const stored = hexToU8a((await rpc('state_getStorage', [key])) as string);
    const r = new Reader(stored);
    expect(r.take(1)[0]).toBe(1);
    const list: [string, bigint][] = [];
    for (let i = r.compact(); i > 0; i--) list.push([u8aToHex(r.take(32)), r.u64()]);
    expect(r.done()).toBe(true);
    expect(list).toEqual(expected.map((id) => [id, 1n]));
  });

  it('defaults to //Alice alone', async () => {
    const other = await startTestNode({ manualSeal: true });
    try {
      expect(other.node.grandpa.authorities).toEqual([[ALICE_ED25519, 1]]);
    } finally {
      await other.stop();
    }
  });
});

// ---------------------------------------------------------------------------- justifications

describe('justifications', () => {
  it('chain_getBlock carries a FRNK justification every authority signed', async () => {
    const block = await t.node.chain.produceBlock();
    const answer = (await rpc('chain_getBlock', [block.hashHex])) as {
      block: { header: { number: string } };
      justifications: [number[], string][] | null;
    };
    expect(answer.justifications).toHaveLength(1);
    const [engine, encoded] = answer.justifications![0]!;
    expect(engine).toEqual([70, 82, 78, 75]);
    const j = decodeJustification(hexToU8a(encoded));
    expect(u8aToHex(j.targetHash)).toBe(u8aToHex(headerHash(answer.block.header)));
    expect(j.targetNumber).toBe(block.number);
    expect(j.precommits.map((p) => u8aToHex(p.id)).sort()).toEqual(
      t.node.grandpa.authorities.map(([id]) => id).sort(),
    );
    expect(verify(j, t.node.grandpa.authorities, 0n)).toBe(true);
    // The round and the set id are part of what was signed.
    expect(verify(j, t.node.grandpa.authorities, 1n)).toBe(false);
    expect(verify(j, t.node.grandpa.authorities, 0n, j.round + 1n)).toBe(false);
    // A set the signers are not in, or under two thirds of it, does not finalize.
    const strangers = [2, 3, 4, 5, 6, 7].map(
      (i) => [u8aToHex(new Uint8Array(32).fill(i)), 1] as [string, number],
    );
    expect(verify(j, [...t.node.grandpa.authorities, ...strangers], 0n)).toBe(false);
    // With three authorities of weight 1 the supermajority is all three (3 - floor(2 / 3)).
    expect(verify({ ...j, precommits: j.precommits.slice(0, 2) }, t.node.grandpa.authorities, 0n)).toBe(
      false,
    );
    const doubled = [j.precommits[0]!, j.precommits[0]!, j.precommits[1]!];
    expect(verify({ ...j, precommits: doubled }, t.node.grandpa.authorities, 0n)).toBe(false);
    // Rounds increase with each finalization.
    const next = await t.node.chain.produceBlock();
    const later = decodeJustification(t.node.chain.justification(next)!);
    expect(later.round).toBeGreaterThan(j.round);
  });

  it('polkadot-js decodes the signed block and its justification', async () => {
    const block = await t.node.chain.produceBlock();
    const signed = await t.api.rpc.chain.getBlock(block.hashHex);
    expect(signed.block.header.hash.toHex()).toBe(block.hashHex);
    const justifications = signed.justifications.unwrap();
    expect(justifications.length).toBe(1);
    const [engine, data] = justifications[0]!;
    expect(engine.toU8a()).toEqual(Uint8Array.from([70, 82, 78, 75]));
    expect(data.toHex()).toBe(u8aToHex(t.node.chain.justification(block)!));
    const decoded = t.api.registry.createType('GrandpaJustification', data.toU8a(true));
    expect(decoded.commit.targetHash.toHex()).toBe(block.hashHex);
    expect(decoded.commit.precommits.length).toBe(3);
    // Genesis has no justification.
    const genesis = await t.api.rpc.chain.getBlock(t.node.chain.genesis.hashHex);
    expect(genesis.justifications.isNone).toBe(true);
  });

  it('grandpa_proveFinality gives a FinalityProof for finalized blocks only', async () => {
    const block = await t.node.chain.produceBlock();
    const proof = hexToU8a((await rpc('grandpa_proveFinality', [block.number])) as string);
    const r = new Reader(proof);
    expect(u8aToHex(r.take(32))).toBe(block.hashHex);
    const justification = r.take(r.compact());
    expect(r.compact(), 'unknown_headers').toBe(0);
    expect(r.done()).toBe(true);
    const j = decodeJustification(justification);
    expect(j.targetNumber).toBe(block.number);
    expect(verify(j, t.node.grandpa.authorities, 0n)).toBe(true);
    // Hex numbers too, as polkadot-js sends them; polkadot-js reads the answer as bytes.
    expect(await rpc('grandpa_proveFinality', [`0x${block.number.toString(16)}`])).toBe(u8aToHex(proof));
    const viaApi = await t.api.rpc.grandpa.proveFinality(block.number);
    expect(viaApi.unwrap().toHex()).toBe(u8aToHex(proof));
    expect(await rpc('grandpa_proveFinality', [block.number + 50])).toBeNull();
    expect(await rpc('grandpa_proveFinality', [0])).toBeNull();
  });

  it('does not justify blocks that are not final yet', async () => {
    t.node.chain.setFinalityLag(2);
    try {
      const block = await t.node.chain.produceBlock();
      const answer = (await rpc('chain_getBlock', [block.hashHex])) as { justifications: unknown };
      expect(answer.justifications).toBeNull();
      expect(await rpc('grandpa_proveFinality', [block.number])).toBeNull();
      await t.node.chain.produceBlock();
      await t.node.chain.produceBlock();
      expect(await rpc('grandpa_proveFinality', [block.number])).not.toBeNull();
    } finally {
      t.node.chain.setFinalityLag(0);
    }
  });

  it('grandpa_subscribeJustifications sends each new justification, until unsubscribed', async () => {
    const subId = await rpc('grandpa_subscribeJustifications');
    const block = await t.node.chain.produceBlock();
    const message = await raw.waitFor(
      (m) =>
        notificationOf(m)?.subscription === subId &&
        (m as { method: string }).method === 'grandpa_justifications',
    );
    const j = decodeJustification(hexToU8a(notificationOf(message)!.result as string));
    expect(u8aToHex(j.targetHash)).toBe(block.hashHex);
    expect(verify(j, t.node.grandpa.authorities, 0n)).toBe(true);
    expect(await rpc('grandpa_unsubscribeJustifications', [subId])).toBe(true);

    // polkadot-js knows this subscription's types (its promise settles with the first value).
    const received: string[] = [];
    const subscribed = t.api.rpc.grandpa.subscribeJustifications((n) => {
      received.push(n.toHex());
    });
    // Blocks until the subscription has reached the node and seen one.
    for (let i = 0; i < 100 && received.length === 0; i++) {
      await t.node.chain.produceBlock();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const unsubscribe = await subscribed;
    unsubscribe();
    const first = decodeJustification(hexToU8a(received[0]!));
    const justified = t.node.chain.blockByNumber(first.targetNumber)!;
    expect(received[0]).toBe(u8aToHex(t.node.chain.justification(justified)!));
  });

  it('gives the same justifications after a restart, and binds a data dir to its authority set', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'phala-grandpa-'));
    try {
      const options = { chain: 'phala' as const, manualSeal: true, finalityDelayMs: 0, dataDir };
      const first = await startDevNode({ ...options, grandpaAuthorities: ['//Bob'] });
      await first.chain.produceBlock();
      const block = await first.chain.produceBlock();
      const before = u8aToHex(first.chain.justification(block)!);
      await first.stop();
      const second = await startDevNode({ ...options, grandpaAuthorities: ['//Bob'] });
      try {
        expect(u8aToHex(second.chain.justification(second.chain.blockByNumber(2)!)!)).toBe(before);
      } finally {
        await second.stop();
      }
      await expect(startDevNode({ ...options, grandpaAuthorities: ['//Alice'] })).rejects.toBeInstanceOf(
        DataDirError,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists the GRANDPA methods and answers grandpa_roundState', async () => {
    const { methods } = (await rpc('rpc_methods')) as { methods: string[] };
    expect(methods).toEqual(
      expect.arrayContaining([
        'grandpa_proveFinality',
        'grandpa_roundState',
        'grandpa_subscribeJustifications',
        'grandpa_unsubscribeJustifications',
        'state_getReadProof',
      ]),
    );
    const state = await t.api.rpc.grandpa.roundState();
    expect(state.setId.toNumber()).toBe(0);
    expect(state.best.totalWeight.toNumber()).toBe(3);
    expect(state.best.thresholdWeight.toNumber()).toBe(3);
  });
});

// ---------------------------------------------------------------------------- read proofs

/** An independent sp-trie proof walk: from the state root, nodes looked up by blake2-256. */
function proveFromProof(stateRoot: Uint8Array, proof: Uint8Array[], key: Uint8Array): Uint8Array | null {
  const byHash = new Map(proof.map((node) => [u8aToHex(blake2AsU8a(node, 256)), node]));
  const nibbles: number[] = [];
  for (const b of key) nibbles.push(b >> 4, b & 15);
  let node: Uint8Array | undefined = byHash.get(u8aToHex(stateRoot));
  if (!node) throw new Error('root not in proof');
  let at = 0;
  for (;;) {
    const r: Reader = new Reader(node);
    const first = r.take(1)[0]!;
    // Node kinds by their header bits (sp-trie NodeCodec, LayoutV1 headers included).
    const kind =
      first >> 6 === 1
        ? { leaf: true, hashed: false, bits: 6 }
        : first >> 6 === 2
          ? { leaf: false, value: false, hashed: false, bits: 6 }
          : first >> 6 === 3
            ? { leaf: false, value: true, hashed: false, bits: 6 }
            : first >> 5 === 1
              ? { leaf: true, hashed: true, bits: 5 }
              : first >> 4 === 1
                ? { leaf: false, value: true, hashed: true, bits: 4 }
                : null;
    if (!kind) throw new Error(`unexpected node header ${first}`);
    const mask = (1 << kind.bits) - 1;
    let count = first & mask;
    if (count === mask) {
      for (let b = 255; b === 255; ) {
        b = r.take(1)[0]!;
        count += b;
      }
    }
    const packed = r.take((count + 1) >> 1);
    const partial: number[] = [];
    for (let i = count % 2; i < packed.length * 2; i++)
      partial.push(i % 2 === 0 ? packed[i >> 1]! >> 4 : packed[i >> 1]! & 15);
    for (let i = 0; i < count; i++) if (nibbles[at + i] !== partial[i]) return null;
    at += count;
    // A hashed value is looked up only when it is the one asked for: a proof does not carry the
    // value nodes of branches it passes through.
    const readValue = (): (() => Uint8Array) => {
      if (!kind.hashed) {
        const inline = r.take(r.compact());
        return () => inline;
      }
      const hash = u8aToHex(r.take(32));
      return () => {
        const value = byHash.get(hash);
        if (!value) throw new Error('value node not in proof');
        return value;
      };
    };
    if (kind.leaf) return at === nibbles.length ? readValue()() : null;
    const bitmap = r.take(2);
    const children = bitmap[0]! | (bitmap[1]! << 8);
    const value = 'value' in kind && kind.value ? readValue() : null;
    if (at === nibbles.length) return value ? value() : null;
    const want = nibbles[at++]!;
    if (!(children & (1 << want))) return null;
    let reference: Uint8Array | null = null;
    for (let i = 0; i < 16; i++) {
      if (!(children & (1 << i))) continue;
      const ref: Uint8Array = r.take(r.compact());
      if (i === want) reference = ref;
    }
    const next: Uint8Array | undefined =
      reference!.length === 32 ? byHash.get(u8aToHex(reference!)) : reference!;
    if (!next) throw new Error('node not in proof');
    node = next;
  }
}

function storageKey(pallet: string, item: string): Uint8Array {
  return u8aConcat(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128));
}

describe('state_getReadProof', () => {
  it('proves present and absent keys against the header state root', async () => {
    const block = await t.node.chain.produceBlock();
    const account = (id: Uint8Array) => u8aConcat(storageKey('System', 'Account'), blake2AsU8a(id, 128), id);
    const keys = {
      // 33+ bytes: a hashed value, stored as a node of its own in LayoutV1.
      alice: account(t.alice.publicKey),
      authorities: new TextEncoder().encode(':grandpa_authorities'),
      // A short value, inline in its leaf.
      number: storageKey('System', 'Number'),
      absentAccount: account(new Uint8Array(32).fill(0xee)),
      absentPrefix: Uint8Array.from([0xff, 0xff, 0x01]),
      absentInside: u8aConcat(storageKey('System', 'Number'), [0x00]),
    };
    const answer = (await rpc('state_getReadProof', [
      Object.values(keys).map((k) => u8aToHex(k)),
      block.hashHex,
    ])) as { at: string; proof: string[] };
    expect(answer.at).toBe(block.hashHex);
    const proof = answer.proof.map((n) => hexToU8a(n));
    expect(new Set(answer.proof).size).toBe(proof.length);
    const header = await t.api.rpc.chain.getHeader(block.hashHex);
    const root = header.stateRoot.toU8a();
    for (const [name, key] of Object.entries(keys)) {
      const expected = t.node.chain.state(block).get(u8aToHex(key));
      const proven = proveFromProof(root, proof, key);
      expect(proven ? u8aToHex(proven) : null, name).toBe(expected ? u8aToHex(expected) : null);
      if (name.startsWith('absent')) expect(proven, name).toBeNull();
      else expect(proven, name).not.toBeNull();
    }
    // A value node is there for the long values.
    const aliceValue = t.node.chain.state(block).get(u8aToHex(keys.alice))!;
    expect(aliceValue.length).toBeGreaterThanOrEqual(33);
    expect(answer.proof).toContain(u8aToHex(aliceValue));
    // smoldot's proof decoder (in chopsticks' wasm) reads the same entries out of it.
    const decoded = new Map<string, string>(await decode_proof(header.stateRoot.toHex(), answer.proof));
    expect(decoded.get(u8aToHex(keys.alice))).toBe(u8aToHex(aliceValue));
    expect(decoded.get(u8aToHex(keys.number))).toBe(
      u8aToHex(t.node.chain.state(block).get(u8aToHex(keys.number))!),
    );
    expect(decoded.has(u8aToHex(keys.absentAccount))).toBe(false);
  });

  it('proves older blocks against their own roots and answers polkadot-js', async () => {
    const before = await t.node.chain.produceBlock();
    await t.api.tx.balances.transferKeepAlive(t.charlie.address, 10n ** 12n).signAndSend(t.bob);
    for (let i = 0; i < 3; i++) await t.node.chain.produceBlock();
    const key = u8aConcat(
      storageKey('System', 'Account'),
      blake2AsU8a(t.charlie.publicKey, 128),
      t.charlie.publicKey,
    );
    const old = await t.api.rpc.state.getReadProof([u8aToHex(key)], before.hashHex);
    expect(old.at.toHex()).toBe(before.hashHex);
    const now = await t.api.rpc.state.getReadProof([u8aToHex(key)]);
    expect(now.at.toHex()).toBe(t.node.chain.best.hashHex);
    const oldValue = proveFromProof(
      before.header.stateRoot,
      old.proof.map((p) => p.toU8a(true)),
      key,
    );
    const newValue = proveFromProof(
      t.node.chain.best.header.stateRoot,
      now.proof.map((p) => p.toU8a(true)),
      key,
    );
    expect(u8aToHex(oldValue!)).toBe(u8aToHex(t.node.chain.state(before).get(u8aToHex(key))!));
    expect(u8aToHex(newValue!)).not.toBe(u8aToHex(oldValue!));
    // Another root does not find its node in the proof.
    expect(() =>
      proveFromProof(
        new Uint8Array(32),
        old.proof.map((p) => p.toU8a(true)),
        key,
      ),
    ).toThrow('root not in proof');
  });

  it('rebuilds the trie of a block older than the kept ones, with the same root', () => {
    const db = new StateDb(1, 2);
    const roots: Uint8Array[] = [];
    for (let block = 0; block < 6; block++) {
      const changes = new Map<string, Uint8Array | null>([
        [`0x${'01'.repeat(block + 1)}`, new Uint8Array(40).fill(block)],
        [`0x0a${block.toString(16).padStart(2, '0')}`, Uint8Array.of(block)],
      ]);
      if (block === 4) changes.set('0x0101', null);
      db.commit(block, changes);
      roots.push(db.headRoot());
    }
    for (let block = 0; block < 6; block++) {
      const trie = db.trieAt(block);
      expect(u8aToHex(trie.rootHash()), `block ${block}`).toBe(u8aToHex(roots[block]!));
      const key = hexToU8a('0x0101');
      const value = proveFromProof(roots[block]!, readProof(trie, [key]), key);
      expect(value === null, `block ${block}`).toBe(block === 0 || block >= 4);
    }
  });

  it('refuses an unknown block', async () => {
    const response = await raw.call('state_getReadProof', [['0x00'], `0x${'12'.repeat(32)}`]);
    expect(response.error?.message).toMatch(/UnknownBlock/);
  });
});
