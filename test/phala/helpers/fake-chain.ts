import { type Hex, fromHex, toHex, utf8 } from '../../../src/base/bytes.js';
import type { RpcTransport } from '../../../src/phala/light-client/index.js';
import {
  type TestHeader,
  type Voter,
  encodeFinalityProof,
  hashOf,
  headerJson,
  justify,
  preRuntimeItem,
} from './grandpa.js';
import { type TestTrie, buildTrie, readProof } from './trie-proof.js';

type Block = { header: TestHeader; hash: Hex; trie: TestTrie; justification: Uint8Array | null };

/**
 * Test-only: an in-memory Substrate chain behind the light client's RPC transport, answering as a
 * Substrate node does (`chain_*`, `grandpa_proveFinality`, `state_getReadProof`). Tests build its
 * blocks and justifications, and can replace any method's answer to play a lying node.
 */
export class FakeChain implements RpcTransport {
  readonly blocks: Block[] = [];
  readonly #byHash = new Map<Hex, Block>();
  readonly #state = new Map<Hex, Uint8Array>();
  finalizedNumber = 0;
  /** Serve `grandpa_proveFinality` (else the method is unknown, as on a node without it). */
  proveFinality = true;
  /** Per-method replacements, for a lying node. */
  readonly lies = new Map<string, (params: unknown[]) => unknown>();
  readonly calls: string[] = [];

  constructor(genesisState: [Uint8Array, Uint8Array][] = []) {
    this.addBlock({ set: genesisState });
  }

  get genesisHash(): Hex {
    return this.blocks[0]!.hash;
  }

  block(number: number): Block {
    const b = this.blocks[number];
    if (!b) throw new Error(`no block ${number}`);
    return b;
  }

  /** Appends a block with these state changes and extra digest items. */
  addBlock(
    p: { set?: [Uint8Array, Uint8Array][]; remove?: Uint8Array[]; digest?: Uint8Array[] } = {},
  ): Block {
    for (const [k, v] of p.set ?? []) this.#state.set(toHex(k), v);
    for (const k of p.remove ?? []) this.#state.delete(toHex(k));
    const trie = buildTrie(
      [...this.#state].map(([k, v]) => [fromHex(k), v] as const),
      1,
    );
    const parent = this.blocks[this.blocks.length - 1];
    const number = this.blocks.length;
    const header: TestHeader = {
      parentHash: parent ? parent.hash : toHex(new Uint8Array(32)),
      number,
      stateRoot: toHex(trie.root),
      extrinsicsRoot: toHex(new Uint8Array(32).fill(number & 0xff)),
      digest: [preRuntimeItem('aura', utf8(`slot ${number}`)), ...(p.digest ?? [])],
    };
    const block = { header, hash: hashOf(header), trie, justification: null };
    this.blocks.push(block);
    this.#byHash.set(block.hash, block);
    return block;
  }

  addBlocks(count: number): void {
    for (let i = 0; i < count; i++) this.addBlock();
  }

  /** Stores a justification for block `number` by `voters` and makes it the finalized head. */
  finalize(number: number, voters: Voter[], setId: bigint, round = 7n): void {
    const b = this.block(number);
    b.justification = justify(voters, { hash: b.hash, number }, { round, setId });
    this.finalizedNumber = number;
  }

  async request(method: string, params: unknown[]): Promise<unknown> {
    this.calls.push(method);
    const lie = this.lies.get(method);
    if (lie) return lie(params);
    return this.answer(method, params);
  }

  answer(method: string, params: unknown[]): unknown {
    const byHash = (h: unknown) => this.#byHash.get(String(h).toLowerCase() as Hex);
    switch (method) {
      case 'chain_getBlockHash': {
        const one = (n: unknown) => this.blocks[Number(n)]?.hash ?? null;
        return Array.isArray(params[0]) ? params[0].map(one) : one(params[0]);
      }
      case 'chain_getFinalizedHead':
        return this.block(this.finalizedNumber).hash;
      case 'chain_getHeader': {
        const b = byHash(params[0]);
        return b ? headerJson(b.header) : null;
      }
      case 'chain_getBlock': {
        const b = byHash(params[0]);
        if (!b) return null;
        return {
          block: { header: headerJson(b.header), extrinsics: [] },
          // serde's shape: ConsensusEngineId as four numbers, the justification as bytes (hex here)
          justifications: b.justification ? [[[70, 82, 78, 75], toHex(b.justification)]] : null,
        };
      }
      case 'grandpa_proveFinality': {
        if (!this.proveFinality) throw new Error('Method not found');
        const n = Number(params[0]);
        for (let i = n; i <= this.finalizedNumber; i++) {
          const b = this.block(i);
          if (b.justification) {
            const unknown = this.blocks.slice(n + 1, i + 1).map((x) => x.header);
            return toHex(encodeFinalityProof(b.hash, b.justification, unknown));
          }
        }
        return null;
      }
      case 'state_getReadProof': {
        const [keys, at] = params as [Hex[], Hex];
        const b = byHash(at);
        if (!b) throw new Error('unknown block');
        return {
          at: b.hash,
          proof: readProof(
            b.trie,
            keys.map((k) => fromHex(k)),
          ).map((n) => toHex(n)),
        };
      }
      default:
        throw new Error(`Method not found: ${method}`);
    }
  }
}
