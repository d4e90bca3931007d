import { compactToU8a } from '@polkadot/util';
import { describe, expect, it } from 'vitest';
import { type Hex, concatBytes, fromHex, toHex, utf8 } from '../../src/base/bytes.js';
import { blake2_256 } from '../../src/crypto/hash.js';
import { childReference, hash as trieHash, trieRoot } from '../../src/devnet/substrate/storage/trie.js';
import {
  LightClientError,
  type LightClientErrorReason,
  SubstrateLightClient,
  authoritySetChangeOf,
  decodeHeader,
  decodeTrieNode,
  headerFromJson,
  headerHash,
  lightClientConfigSchema,
  supermajorityThreshold,
  verifyJustification,
  verifyReadProof,
} from '../../src/phala/light-client/index.js';
import { FakeChain } from './helpers/fake-chain.js';
import {
  type TestHeader,
  type Voter,
  authoritiesOf,
  encodeHeader,
  encodeJustification,
  forcedChangeItem,
  hashOf,
  headerJson,
  justify,
  newVoter,
  preRuntimeItem,
  scheduledChangeItem,
  signPrecommit,
} from './helpers/grandpa.js';
import { buildTrie, readProof } from './helpers/trie-proof.js';

/** The worker's light client, without a node: justifications, headers, read proofs, sync. */

function refusal(fn: () => unknown): LightClientErrorReason {
  try {
    fn();
  } catch (error) {
    if (error instanceof LightClientError) return error.reason;
    throw error;
  }
  throw new Error('accepted');
}

async function refusalOf(promise: Promise<unknown>): Promise<LightClientErrorReason> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LightClientError) return error.reason;
    throw error;
  }
  throw new Error('accepted');
}

const h32 = (byte: number): Hex => toHex(new Uint8Array(32).fill(byte));

function testHeader(number: number, parentHash: Hex, digest: Uint8Array[] = []): TestHeader {
  return { parentHash, number, stateRoot: h32(0xaa), extrinsicsRoot: h32(0xbb), digest };
}

describe('headers', () => {
  it('decodes SCALE headers and hashes them as Substrate does', () => {
    const next = [newVoter(), newVoter(2n)];
    const h = testHeader(70_000, h32(1), [
      preRuntimeItem('aura', utf8('slot')),
      scheduledChangeItem(authoritiesOf(next), 3),
    ]);
    const bytes = encodeHeader(h);
    const decoded = decodeHeader(bytes);
    expect(decoded).toMatchObject({ parentHash: h.parentHash, number: 70_000, stateRoot: h.stateRoot });
    expect(decoded.hash).toBe(toHex(blake2_256(bytes)));
    expect(headerHash(bytes)).toBe(decoded.hash);
    // the same header from chain_getHeader's JSON
    expect(headerFromJson({ ...headerJson(h), number: 70_000 }).hash).toBe(decoded.hash);
    expect(authoritySetChangeOf(decoded)).toEqual({ authorities: authoritiesOf(next), enactAt: 70_003 });
  });

  it('refuses truncated, trailing and unknown data, and forced changes', () => {
    const bytes = encodeHeader(testHeader(5, h32(1)));
    expect(refusal(() => decodeHeader(bytes.subarray(0, bytes.length - 1)))).toBe('malformed');
    expect(refusal(() => decodeHeader(concatBytes(bytes, Uint8Array.of(0))))).toBe('malformed');
    const unknownItem = encodeHeader(testHeader(5, h32(1), [Uint8Array.of(3, 0)]));
    expect(refusal(() => decodeHeader(unknownItem))).toBe('malformed');
    // a non-canonical Compact<u32> number (5 in two bytes)
    const nonCanonical = concatBytes(bytes.subarray(0, 32), Uint8Array.of(0x15, 0x00), bytes.subarray(33));
    expect(refusal(() => decodeHeader(nonCanonical))).toBe('malformed');
    const forced = decodeHeader(encodeHeader(testHeader(5, h32(1), [forcedChangeItem([], 1, 2)])));
    expect(refusal(() => authoritySetChangeOf(forced))).toBe('authority-set-change-unsupported');
  });
});

describe('verifyJustification', () => {
  const voters = [newVoter(), newVoter(), newVoter(), newVoter()];
  const authorities = authoritiesOf(voters);
  const setId = 3n;
  const target = { hash: hashOf(testHeader(10, h32(9))), number: 10 };

  it('accepts a supermajority of the set (n - floor((n-1)/3))', () => {
    expect(supermajorityThreshold(4n)).toBe(3n);
    expect(supermajorityThreshold(3n)).toBe(3n);
    expect(supermajorityThreshold(100n)).toBe(67n);
    const j = justify(voters.slice(0, 3), target, { setId, round: 5n });
    expect(
      verifyJustification({
        justification: j,
        authorities,
        setId,
        expectedHash: target.hash,
        expectedNumber: 10,
      }),
    ).toEqual({ targetHash: target.hash, targetNumber: 10, round: 5n, signedWeight: 3n });
  });

  it('counts weight, not heads', () => {
    const heavy = newVoter(10n);
    const light = [newVoter(), newVoter(), newVoter()];
    const set = authoritiesOf([heavy, ...light]); // total 13, threshold 9
    expect(
      verifyJustification({ justification: justify([heavy], target, { setId }), authorities: set, setId })
        .signedWeight,
    ).toBe(10n);
    expect(
      refusal(() =>
        verifyJustification({ justification: justify(light, target, { setId }), authorities: set, setId }),
      ),
    ).toBe('insufficient-weight');
  });

  it('refuses a signature from outside the set', () => {
    const j = justify([...voters.slice(0, 2), newVoter()], target, { setId });
    expect(refusal(() => verifyJustification({ justification: j, authorities, setId }))).toBe(
      'signer-not-in-set',
    );
  });

  it('refuses a set under two-thirds', () => {
    const j = justify(voters.slice(0, 2), target, { setId });
    expect(refusal(() => verifyJustification({ justification: j, authorities, setId }))).toBe(
      'insufficient-weight',
    );
  });

  it('refuses a wrong round and a wrong set id', () => {
    const precommits = voters
      .slice(0, 3)
      .map((v) => signPrecommit(v, { targetHash: target.hash, targetNumber: 10, round: 1n, setId }));
    const relabelled = encodeJustification({
      round: 2n,
      targetHash: target.hash,
      targetNumber: 10,
      precommits,
    });
    expect(refusal(() => verifyJustification({ justification: relabelled, authorities, setId }))).toBe(
      'bad-signature',
    );
    const j = justify(voters.slice(0, 3), target, { setId });
    expect(refusal(() => verifyJustification({ justification: j, authorities, setId: setId + 1n }))).toBe(
      'bad-signature',
    );
  });

  it('refuses a duplicated signer', () => {
    const once = voters
      .slice(0, 2)
      .map((v) => signPrecommit(v, { targetHash: target.hash, targetNumber: 10, round: 1n, setId }));
    const j = encodeJustification({
      round: 1n,
      targetHash: target.hash,
      targetNumber: 10,
      precommits: [...once, once[0]!],
    });
    expect(refusal(() => verifyJustification({ justification: j, authorities, setId }))).toBe(
      'duplicate-signer',
    );
  });

  it('refuses another target, a forged signature and malformed bytes', () => {
    const j = justify(voters.slice(0, 3), target, { setId });
    expect(
      refusal(() => verifyJustification({ justification: j, authorities, setId, expectedHash: h32(1) })),
    ).toBe('target-mismatch');
    expect(
      refusal(() => verifyJustification({ justification: j, authorities, setId, expectedNumber: 11 })),
    ).toBe('target-mismatch');
    const forged = j.slice();
    forged[8 + 32 + 4 + 1 + 36 + 5]! ^= 1; // a byte of the first signature
    expect(refusal(() => verifyJustification({ justification: forged, authorities, setId }))).toBe(
      'bad-signature',
    );
    expect(
      refusal(() => verifyJustification({ justification: j.subarray(0, j.length - 1), authorities, setId })),
    ).toBe('malformed');
    // a precommit list claiming more entries than the bytes hold
    const huge = concatBytes(j.subarray(0, 44), compactToU8a(1_000_000), j.subarray(45));
    expect(refusal(() => verifyJustification({ justification: huge, authorities, setId }))).toBe('malformed');
  });

  it('follows votes for descendants through votes_ancestries, and refuses unproven or unused ones', () => {
    const t = testHeader(10, h32(9));
    const c1 = testHeader(11, hashOf(t));
    const c2 = testHeader(12, hashOf(c1));
    const other = testHeader(12, h32(7));
    const targetHash = hashOf(t);
    const vote = (v: Voter, h: TestHeader) =>
      signPrecommit(v, { targetHash: hashOf(h), targetNumber: h.number, round: 1n, setId });
    const precommits = [vote(voters[0]!, t), vote(voters[1]!, c1), vote(voters[2]!, c2)];
    const base = { round: 1n, targetHash, targetNumber: 10, precommits };
    const ok = encodeJustification({ ...base, ancestries: [c2, c1] });
    expect(verifyJustification({ justification: ok, authorities, setId }).signedWeight).toBe(3n);
    const missing = encodeJustification({ ...base, ancestries: [c2] });
    expect(refusal(() => verifyJustification({ justification: missing, authorities, setId }))).toBe(
      'precommit-not-descendant',
    );
    const unused = encodeJustification({ ...base, ancestries: [c2, c1, other] });
    expect(refusal(() => verifyJustification({ justification: unused, authorities, setId }))).toBe(
      'unused-ancestry',
    );
    const sideways = encodeJustification({
      ...base,
      precommits: [...precommits.slice(0, 2), vote(voters[2]!, other)],
      ancestries: [c1, other],
    });
    expect(refusal(() => verifyJustification({ justification: sideways, authorities, setId }))).toBe(
      'precommit-not-descendant',
    );
  });
});

describe('verifyReadProof', () => {
  const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const entries: [Uint8Array, Uint8Array][] = [
    ...Array.from({ length: 60 }, () => [rand(32), rand(8)] as [Uint8Array, Uint8Array]),
    [fromHex('0x0102'), utf8('short')],
    [fromHex('0x010203'), rand(100)], // a branch value below 0x0102's... no: a child of it, hashed in V1
    [fromHex('0x01'), rand(40)], // a value on a branch, hashed in V1
    [rand(200), utf8('a 400-nibble key')], // a partial key longer than 255 nibbles
    [fromHex('0x0a0b'), new Uint8Array(0)], // an empty value is a value
  ];
  const keys = entries.map(([k]) => k);
  const absent = [fromHex('0x0103'), fromHex('0x010204'), fromHex('0x'), rand(32), fromHex('0x0a0b0c')];

  for (const version of [0, 1] as const) {
    it(`reads values and proves absence (LayoutV${version})`, () => {
      const trie = buildTrie(entries, version);
      expect(toHex(trie.root)).toBe(toHex(trieRoot(entries, version)));
      const proof = readProof(trie, [...keys, ...absent]);
      const got = verifyReadProof({ stateRoot: trie.root, proof, keys: [...keys, ...absent] });
      for (const [k, v] of entries) expect(got.get(toHex(k))).toEqual(v);
      for (const k of absent) expect(got.get(toHex(k))).toBeNull();
    });
  }

  it('proves absence in an empty trie', () => {
    const trie = buildTrie([], 1);
    expect(
      verifyReadProof({ stateRoot: trie.root, proof: readProof(trie, []), keys: [utf8('x')] }).get(
        toHex(utf8('x')),
      ),
    ).toBeNull();
  });

  it('refuses a proof for another root', () => {
    const trie = buildTrie(entries, 1);
    const other = buildTrie(entries.slice(1), 1);
    const proof = readProof(other, keys);
    expect(refusal(() => verifyReadProof({ stateRoot: trie.root, proof, keys }))).toBe('root-not-in-proof');
  });

  it('refuses a truncated proof', () => {
    const trie = buildTrie(entries, 1);
    const proof = readProof(trie, [keys[0]!]);
    expect(proof.length).toBeGreaterThan(1);
    const rootHex = toHex(trie.root);
    const withoutLeaf = proof.filter((n) => toHex(blake2_256(n)) === rootHex);
    expect(
      refusal(() => verifyReadProof({ stateRoot: trie.root, proof: withoutLeaf, keys: [keys[0]!] })),
    ).toBe('incomplete-proof');
    // a hashed value node (LayoutV1) left out
    const big = fromHex('0x010203');
    const valueNode = entries.find(([k]) => toHex(k) === toHex(big))![1];
    const withoutValue = readProof(trie, [big]).filter((n) => toHex(n) !== toHex(valueNode));
    expect(refusal(() => verifyReadProof({ stateRoot: trie.root, proof: withoutValue, keys: [big] }))).toBe(
      'incomplete-proof',
    );
  });

  it('refuses a malformed node, at the root or referenced by hash', () => {
    const garbage = Uint8Array.from([0x05, ...rand(40)]); // 0b0000_0101: no such node kind
    expect(
      refusal(() => verifyReadProof({ stateRoot: trieHash(garbage), proof: [garbage], keys: [utf8('k')] })),
    ).toBe('malformed-node');
    // a branch whose child under nibble 6 is the garbage node, referenced by its hash
    const branch = concatBytes(Uint8Array.of(0x80), Uint8Array.of(1 << 6, 0), childReference(garbage));
    expect(decodeTrieNode(branch)).toMatchObject({ kind: 'branch' });
    const proof = [branch, garbage];
    expect(
      refusal(() => verifyReadProof({ stateRoot: trieHash(branch), proof, keys: [Uint8Array.of(0x61)] })),
    ).toBe('malformed-node');
    // a leaf with a value shorter than it says, trailing bytes, a branch without children
    expect(refusal(() => decodeTrieNode(Uint8Array.of(0x42, 0x12, 0x10, 1, 2)))).toBe('malformed-node');
    expect(refusal(() => decodeTrieNode(Uint8Array.of(0x42, 0x12, 0x04, 1, 2)))).toBe('malformed-node');
    expect(refusal(() => decodeTrieNode(Uint8Array.of(0x80, 0, 0)))).toBe('malformed-node');
  });
});

describe('lightClientConfigSchema', () => {
  it('parses pinned values and refuses an unusable set', () => {
    const v = newVoter();
    const config = lightClientConfigSchema.parse({
      genesisHash: h32(1).toUpperCase().replace('0X', '0x'),
      authorities: [{ id: v.id, weight: '2' }],
    });
    expect(config).toMatchObject({ genesisHash: h32(1), setId: 0n, authorities: [{ id: v.id, weight: 2n }] });
    expect(lightClientConfigSchema.safeParse({ genesisHash: h32(1), authorities: [] }).success).toBe(false);
    expect(
      lightClientConfigSchema.safeParse({ genesisHash: h32(1), authorities: [{ id: v.id }, { id: v.id }] })
        .success,
    ).toBe(false);
    expect(
      lightClientConfigSchema.safeParse({ genesisHash: h32(1), authorities: [{ id: v.id, weight: 0 }] })
        .success,
    ).toBe(false);
  });
});

describe('SubstrateLightClient', () => {
  const key = (s: string) => utf8(s);
  const setup = (p: { voters?: Voter[]; setId?: bigint } = {}) => {
    const voters = p.voters ?? [newVoter(), newVoter(), newVoter()];
    const setId = p.setId ?? 0n;
    const chain = new FakeChain([[key('greeting'), utf8('hello')]]);
    const client = new SubstrateLightClient(
      { genesisHash: chain.genesisHash, authorities: authoritiesOf(voters), setId },
      chain,
    );
    return { chain, client, voters, setId };
  };

  it('follows finality from genesis and reads verified storage (finality proofs)', async () => {
    const { chain, client, voters } = setup();
    expect(await client.sync()).toMatchObject({ number: 0, hash: chain.genesisHash });
    chain.addBlock({ set: [[key('request-1'), utf8('pending')]] });
    chain.addBlocks(3);
    chain.finalize(4, voters, 0n);
    chain.addBlocks(2); // not final yet
    const head = await client.sync();
    expect(head).toMatchObject({
      number: 4,
      hash: chain.block(4).hash,
      stateRoot: chain.block(4).header.stateRoot,
    });
    const got = await client.readStorage([key('request-1'), key('greeting'), key('request-2')]);
    expect(got.get(toHex(key('request-1')))).toEqual(utf8('pending'));
    expect(got.get(toHex(key('greeting')))).toEqual(utf8('hello'));
    expect(got.get(toHex(key('request-2')))).toBeNull();
    // earlier verified blocks stay readable
    expect(await client.readStorageValue(key('request-1'), chain.block(0).hash)).toBeNull();
    expect(client.header(chain.block(2).hash)?.number).toBe(2);
    expect(await refusalOf(client.readStorage([key('greeting')], chain.block(5).hash))).toBe('not-verified');
  });

  it('uses the justification stored with the block when the node has no grandpa_proveFinality', async () => {
    const { chain, client, voters } = setup();
    chain.proveFinality = false;
    chain.addBlocks(1500); // more than one chain_getBlockHash batch
    chain.finalize(1500, voters, 0n);
    expect((await client.sync()).number).toBe(1500);
  });

  it('takes a later justification from grandpa_proveFinality with its headers', async () => {
    const { chain, client, voters } = setup();
    chain.addBlocks(6);
    chain.finalize(6, voters, 0n);
    chain.lies.set('chain_getFinalizedHead', () => chain.block(4).hash); // a node a bit behind
    expect((await client.sync()).number).toBe(6);
    expect(chain.calls).not.toContain('chain_getBlock');
  });

  it('enacts a scheduled authority set change at its block', async () => {
    const { chain, client, voters } = setup();
    const next = [newVoter(), newVoter(), newVoter(), newVoter()];
    chain.addBlocks(2);
    chain.addBlock({ digest: [scheduledChangeItem(authoritiesOf(next), 2)] }); // #3, enacted at #5
    chain.addBlocks(2);
    chain.finalize(5, voters, 0n); // the old set finalizes the enacting block
    chain.addBlocks(3);
    chain.finalize(8, next.slice(0, 3), 1n);
    expect((await client.sync()).number).toBe(8);
    expect(client.authoritySet).toEqual({ setId: 1n, authorities: authoritiesOf(next) });
    // the old set no longer finalizes anything
    chain.addBlocks(1);
    chain.finalize(9, voters, 1n);
    expect(await refusalOf(client.sync())).toBe('signer-not-in-set');
    expect(client.finalized?.number).toBe(8);
  });

  it('keeps a change pending across syncs, and enacts a change with no delay at its own block', async () => {
    const { chain, client, voters } = setup();
    const next = [newVoter(), newVoter()];
    const third = [newVoter()];
    chain.addBlock({ digest: [scheduledChangeItem(authoritiesOf(next), 3)] }); // #1, enacted at #4
    chain.addBlocks(1);
    chain.finalize(2, voters, 0n);
    expect((await client.sync()).number).toBe(2);
    expect(client.authoritySet.setId).toBe(0n);
    chain.addBlocks(2);
    chain.finalize(4, voters, 0n);
    chain.addBlock({ digest: [scheduledChangeItem(authoritiesOf(third), 0)] }); // #5, enacted at #5
    chain.finalize(5, next, 1n);
    chain.addBlocks(2);
    chain.finalize(7, third, 2n);
    expect((await client.sync()).number).toBe(7);
    expect(client.authoritySet).toEqual({ setId: 2n, authorities: authoritiesOf(third) });
  });

  it('refuses the new set signing the enacting block, and a forced change', async () => {
    const a = setup();
    const next = [newVoter()];
    a.chain.addBlock({ digest: [scheduledChangeItem(authoritiesOf(next), 1)] });
    a.chain.addBlock();
    a.chain.finalize(2, next, 0n);
    expect(await refusalOf(a.client.sync())).toBe('signer-not-in-set');
    expect(a.client.finalized?.number).toBe(0);

    const b = setup();
    b.chain.addBlock({ digest: [forcedChangeItem(authoritiesOf(next), 0, 0)] });
    b.chain.finalize(1, b.voters, 0n);
    expect(await refusalOf(b.client.sync())).toBe('authority-set-change-unsupported');
  });

  it('refuses a lying node', async () => {
    // another chain
    const other = new FakeChain();
    const { chain, client, voters } = setup();
    chain.lies.set('chain_getBlockHash', (params) => other.answer('chain_getBlockHash', params));
    expect(await refusalOf(client.sync())).toBe('genesis-mismatch');
    chain.lies.clear();

    // a header that does not hash to what was asked (a state root swapped)
    chain.addBlocks(3);
    chain.finalize(3, voters, 0n);
    chain.lies.set('chain_getHeader', (params) => {
      const json = chain.answer('chain_getHeader', params) as ReturnType<typeof headerJson>;
      return json.number === '0x2' ? { ...json, stateRoot: h32(0x66) } : json;
    });
    expect(await refusalOf(client.sync())).toBe('header-mismatch');
    chain.lies.clear();

    // a finalized head off another fork: same genesis, another block 1, signed by the same set
    const fork = new FakeChain([[key('greeting'), utf8('hello')]]);
    expect(fork.genesisHash).toBe(chain.genesisHash);
    fork.addBlock({ set: [[key('greeting'), utf8('forked')]] });
    fork.addBlocks(3);
    fork.finalize(4, voters, 0n);
    let node: FakeChain = chain;
    const lying = new SubstrateLightClient(
      { genesisHash: chain.genesisHash, authorities: authoritiesOf(voters) },
      { request: (method, params) => node.request(method, params) },
    );
    chain.finalize(1, voters, 0n);
    expect((await lying.sync()).number).toBe(1);
    node = fork;
    expect(await refusalOf(lying.sync())).toBe('broken-chain');

    // too few signatures, then a proof for another state, then a proof cut short
    chain.finalize(3, voters.slice(0, 2), 0n);
    expect(await refusalOf(client.sync())).toBe('insufficient-weight');
    chain.finalize(3, voters, 0n);
    expect((await client.sync()).number).toBe(3);
    chain.addBlock({
      set: [
        [key('greeting'), utf8('changed')],
        [key('more'), new Uint8Array(64).fill(7)],
      ],
    });
    chain.finalize(4, voters, 0n);
    expect((await client.sync()).number).toBe(4);
    expect(await client.readStorageValue(key('greeting'))).toEqual(utf8('changed'));
    const proofAt = (params: unknown[], at: Hex) =>
      chain.answer('state_getReadProof', [params[0], at]) as { at: Hex; proof: Hex[] };
    // block 3's (older) proof passed off as block 4's
    chain.lies.set('state_getReadProof', (params) => ({
      ...proofAt(params, chain.block(3).hash),
      at: chain.block(4).hash,
    }));
    expect(await refusalOf(client.readStorage([key('greeting')]))).toBe('root-not-in-proof');
    // only the root node
    const root = chain.block(4).header.stateRoot;
    chain.lies.set('state_getReadProof', (params) => {
      const real = proofAt(params, chain.block(4).hash);
      return { at: real.at, proof: real.proof.filter((n) => toHex(blake2_256(fromHex(n))) === root) };
    });
    expect(await refusalOf(client.readStorage([key('greeting'), key('more')]))).toBe('incomplete-proof');
    chain.lies.set('state_getReadProof', () => ({ at: 42 }));
    expect(await refusalOf(client.readStorage([key('greeting')]))).toBe('rpc-answer');
  });

  it('waits until a block is final, sharing one sync between callers', async () => {
    const { chain, client, voters } = setup();
    await client.sync();
    const waiting = client.waitFinalized(3, { intervalMs: 5, timeoutMs: 5_000 });
    chain.addBlocks(3);
    setTimeout(() => chain.finalize(3, voters, 0n), 30);
    expect((await waiting).number).toBe(3);
    const [a, b] = [client.sync(), client.sync()];
    expect(a).toBe(b);
    await a;
  });
});
