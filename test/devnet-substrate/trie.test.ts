import { calculate_state_root } from '@acala-network/chopsticks-executor';
import { compactToU8a, hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PersistentTrie } from '../../src/devnet/substrate/storage/persistent-trie.js';
import { orderedTrieRoot, trieRoot } from '../../src/devnet/substrate/storage/trie.js';

/**
 * The trie root against sp-trie itself (compiled to wasm in chopsticks' executor): random key sets
 * with shared prefixes, long keys (multi-byte nibble counts), empty and long values, both layouts.
 */

beforeAll(async () => {
  await cryptoWaitReady();
});

// A deterministic generator, so a failure can be replayed.
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function bytes(rand: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(rand() * 256));
}

describe('trieRoot', () => {
  it('matches sp-trie on random key sets (LayoutV0 and V1)', async () => {
    const rand = rng(2035);
    for (let trial = 0; trial < 120; trial++) {
      const count = trial % 15 === 0 ? 0 : 1 + Math.floor(rand() * 80);
      const base = bytes(rand, 6);
      const entries = new Map<string, string>();
      for (let i = 0; i < count; i++) {
        const shared = base.subarray(0, Math.floor(rand() * 7));
        const key =
          rand() < 0.7
            ? new Uint8Array([...shared, ...bytes(rand, Math.floor(rand() * 150))])
            : bytes(rand, 1 + Math.floor(rand() * 2));
        entries.set(u8aToHex(key), u8aToHex(bytes(rand, Math.floor(rand() * 90))));
      }
      const list = [...entries];
      for (const version of [0, 1] as const) {
        const expected = await calculate_state_root(list, version);
        const got = u8aToHex(
          trieRoot(
            list.map(([k, v]) => [hexToU8a(k), hexToU8a(v)] as const),
            version,
          ),
        );
        expect(got, `trial ${trial} v${version}`).toBe(expected);
      }
    }
  });

  it('gives the empty root and ordered (extrinsics) roots as sp-trie does', async () => {
    expect(u8aToHex(trieRoot([], 1))).toBe(await calculate_state_root([], 1));
    const values = [Uint8Array.of(1, 2, 3), new Uint8Array(40).fill(9), new Uint8Array()];
    const expected = await calculate_state_root(
      values.map((v, i) => [u8aToHex(compactToU8a(i)), u8aToHex(v)]),
      1,
    );
    expect(u8aToHex(orderedTrieRoot(values, 1))).toBe(expected);
  });
});

describe('PersistentTrie', () => {
  it('gives the same roots as a full recomputation through random inserts and removals', () => {
    const rand = rng(2000);
    for (const version of [0, 1] as const) {
      let trie = PersistentTrie.empty(version);
      const state = new Map<string, Uint8Array>();
      const keys: Uint8Array[] = [];
      for (let round = 0; round < 60; round++) {
        const changes: [Uint8Array, Uint8Array | null][] = [];
        for (let i = 0; i < 1 + Math.floor(rand() * 25); i++) {
          const reuse = keys.length > 0 && rand() < 0.5;
          const key = reuse
            ? keys[Math.floor(rand() * keys.length)]!
            : new Uint8Array([
                ...bytes(rand, Math.floor(rand() * 3)),
                ...bytes(rand, Math.floor(rand() * 40)),
              ]);
          if (!reuse) keys.push(key);
          const value = rand() < 0.3 ? null : bytes(rand, Math.floor(rand() * 70));
          changes.push([key, value]);
          if (value === null) state.delete(u8aToHex(key));
          else state.set(u8aToHex(key), value);
        }
        const before = trie;
        const beforeRoot = u8aToHex(before.rootHash());
        trie = trie.update(changes);
        const expected = u8aToHex(
          trieRoot(
            [...state].map(([k, v]) => [hexToU8a(k), v] as const),
            version,
          ),
        );
        expect(u8aToHex(trie.rootHash()), `round ${round} v${version}`).toBe(expected);
        // The previous trie is untouched.
        expect(u8aToHex(before.rootHash())).toBe(beforeRoot);
      }
    }
  });
});
