import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAbiParameters, encodeAbiParameters, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildExample,
  compileAssemblyScript,
  exampleNames,
  wasmImports,
} from '../../scripts/build-wasm-contracts.js';
import {
  type AuctionSettings,
  type ContractOrigin,
  GREETER_CONTRACT,
  auctionContract,
} from '../../src/devnet/orchestrator/contracts.js';
import {
  WasmAuctionSettingsError,
  wasmAuctionContract,
  wasmExample,
} from '../../src/devnet/orchestrator/wasm-contracts.js';
import { ContractEngine } from '../../src/pruntime/engine/engine.js';
import type { SandboxOutcome } from '../../src/pruntime/engine/sandbox.js';
import { HOST_FUNCTIONS, HOST_MODULE } from '../../src/pruntime/wasm/host-interface.js';
import { expectFailure, expectOk, SEED, text } from '../pruntime/helpers.js';
import { extractGuide } from './solidity-guide.js';

/**
 * The AssemblyScript SDK (assembly/) as users get it: the guide's contract compiled in a project
 * of its own that imports "phala-bridge/assembly" from node_modules, the examples' modules, and
 * all of them run in the real engine: a module imports only the host interface, and the examples
 * answer byte for byte as their JavaScript versions do.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const guide = extractGuide(readFileSync(path.join(root, 'docs/wasm-contracts.md'), 'utf8'));
const guideFile = (file: string) => guide.find((g) => g.file === file)!.code;

const GATEWAY = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const SOLIDITY = {
  kind: 'evm',
  chainId: 31337,
  gateway: GATEWAY,
  requester: `0x${'e7'.repeat(20)}`,
} as const;
const EOA = { ...SOLIDITY, requester: `0x${'70'.repeat(20)}` } as const;
const evm = (o: ContractOrigin, endUser: string) => ({ ...o, endUser });
const phala = (account: string) => ({
  kind: 'phala',
  genesisHash: `0x${'ab'.repeat(32)}`,
  requester: account,
  endUser: account,
});
const ALICE = `0x${'d4'.repeat(32)}`;
const BOB = `0x${'8e'.repeat(32)}`;

/** Checks what the worker checks first: imports only from "phala", each with its exact signature. */
function expectHostInterfaceOnly(module: Uint8Array) {
  const imports = wasmImports(module);
  for (const i of imports) {
    expect(i.module).toBe(HOST_MODULE);
    expect(i.kind).toBe('function');
    const signature = HOST_FUNCTIONS[i.name];
    expect(signature, `phala.${i.name}`).toBeDefined();
    expect({ params: i.params, results: i.results }).toEqual({
      params: [...signature!.params],
      results: [...signature!.results],
    });
  }
  return imports.map((i) => i.name).sort();
}

/** The part of the WebAssembly JavaScript API used here (the project compiles without the DOM lib). */
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { Module: { new (bytes: Uint8Array): object; exports(module: object): { name: string }[] } };
  }
).WebAssembly;
const exportsOf = (module: Uint8Array) =>
  Wasm.Module.exports(new Wasm.Module(module))
    .map((e) => e.name)
    .sort();

let engine: ContractEngine;
let project: string;
beforeAll(async () => {
  engine = await ContractEngine.start();
  // A user's project: the guide's files, and this package where npm would put it.
  project = mkdtempSync(path.join(os.tmpdir(), 'pb-wasm-guide-'));
  mkdirSync(path.join(project, 'node_modules'));
  symlinkSync(root, path.join(project, 'node_modules/phala-bridge'), 'dir');
  for (const { file, code } of guide) {
    mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
    writeFileSync(path.join(project, file), code);
  }
});
afterAll(async () => {
  await engine?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

let requestNumber = 0;
const nextRequestId = () => `0x${(++requestNumber).toString(16).padStart(64, '0')}` as Hex;

type Origin = Record<string, string | number>;

/** One contract instance with the state the chain would keep between its requests. */
function instance(code: string | Uint8Array) {
  let state: Uint8Array | null = null;
  return {
    async run(
      input: Uint8Array | string,
      origin: Origin,
      requestId = nextRequestId(),
    ): Promise<SandboxOutcome> {
      const outcome = await engine.run({
        code,
        input: typeof input === 'string' ? new TextEncoder().encode(input) : input,
        state,
        requestId,
        origin,
        randomSeed: SEED,
      });
      if (outcome.ok) state = outcome.state;
      return outcome;
    },
    query: (input: Uint8Array | string = '') =>
      engine.run({
        code,
        kind: 'query',
        input: typeof input === 'string' ? new TextEncoder().encode(input) : input,
        state,
        requestId: nextRequestId(),
        randomSeed: SEED,
      }),
  };
}

/** What an outcome shows a chain or a requester: the outputs, or the failure's code. */
type Shown = { public: string; sealed: string } | { failed: string };
const shown = (o: SandboxOutcome): Shown =>
  o.ok ? { public: Buffer.from(o.public).toString('hex'), sealed: text(o.sealed) } : { failed: o.error.code };

describe('docs/wasm-contracts.md', () => {
  it('holds the compiler config, the contract and the SDK script, importing only public entry points', () => {
    expect(guide.map((g) => g.file)).toEqual(['asconfig.json', 'assembly/poll.ts', 'guide.mjs']);
    expect(guideFile('assembly/poll.ts')).toContain('from "phala-bridge/assembly"');
    const imports = [...guideFile('guide.mjs').matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(imports.filter((i) => !/^(node:.+|phala-bridge\/(sdk|testing))$/.test(i!))).toEqual([]);
  });

  it("compiles the guide's contract as a user's project does, to a module that imports only the host interface", async () => {
    const poll = await compileAssemblyScript({ baseDir: project, args: ['--target', 'release'] });
    expect(expectHostInterfaceOnly(poll)).toEqual([
      'context',
      'fail',
      'input',
      'output',
      'state_get',
      'state_set',
    ]);
    expect(exportsOf(poll)).toEqual(['handle', 'memory', 'query']);

    const contract = instance(poll);
    expect(shown(expectOk(await contract.run('yes', phala(ALICE))))).toEqual({
      public: Buffer.from('vote counted').toString('hex'),
      sealed: '{"choice":"yes","votes":1}',
    });
    const again = expectOk(await contract.run('no', phala(ALICE)));
    expect([text(again.public), text(again.sealed)]).toEqual(['already voted', '{"choice":"yes"}']);
    expect(text(expectOk(await contract.run('no', phala(BOB))).sealed)).toBe('{"choice":"no","votes":1}');
    const refused = expectFailure(await contract.run('maybe', phala(BOB)));
    expect(refused.error.code).toBe('ContractThrew');
    expect(refused.error.message).toContain('vote yes or no');
    expect(text(expectOk(await contract.query()).sealed)).toBe('{"no":1,"yes":1}');
  });

  it("routes AssemblyScript's abort to phala.fail only with the config's `use` line (without it: env.abort, refused)", async () => {
    // A folder of its own (asc reads the asconfig.json of the folder it compiles in); the package
    // is found in the project's node_modules above it, as Node finds packages.
    const dir = path.join(project, 'aborts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'boom.ts'),
      [
        'import { inputString, output } from "phala-bridge/assembly";',
        'export function handle(): void {',
        '  const bytes = new Uint8Array(2);',
        '  if (inputString() == "assert") assert(false, "boom");',
        '  output("byte " + bytes[inputString().length].toString(), "");',
        '}',
      ].join('\n'),
    );
    const config = JSON.parse(guideFile('asconfig.json')).targets.release as { use: string[] };
    const base = ['boom.ts', '-O3', '--runtime', 'stub'];
    const withUse = await compileAssemblyScript({ baseDir: dir, args: [...base, '--use', config.use[0]!] });
    expect(expectHostInterfaceOnly(withUse)).toEqual(['fail', 'input', 'output']);
    const without = await compileAssemblyScript({ baseDir: dir, args: base });
    expect(wasmImports(without).map((i) => `${i.module}.${i.name}`)).toContain('env.abort');

    const contract = instance(withUse);
    expect(text(expectOk(await contract.run('a', phala(ALICE))).public)).toBe('byte 0');
    const asserted = expectFailure(await contract.run('assert', phala(ALICE)));
    expect(asserted.error.code).toBe('ContractThrew');
    expect(asserted.error.message).toMatch(/boom \(boom\.ts:4:\d+\)/);
    const outOfBounds = expectFailure(await contract.run('abc', phala(ALICE)));
    expect(outOfBounds.error.code).toBe('ContractThrew');
    expect(outOfBounds.error.message).toContain('Index out of range');
  });
});

describe('the SDK', () => {
  it('writes canonical JSON as a JavaScript contract does (keys sorted by UTF-16 code units, JSON.stringify escapes)', async () => {
    const dir = path.join(project, 'json');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'echo.ts'),
      [
        'import { JsonObject, inputString, output } from "phala-bridge/assembly";',
        'export function handle(): void {',
        '  const s = inputString();',
        '  const o = new JsonObject().string("é", s).int("b", -42).bool("a", true).null("A").string("é", s + "!");',
        '  output("", o.string("\u{1F600}", "x").stringOrNull("Z", null).int("aa", 9007199254740991).toString());',
        '}',
      ].join('\n'),
    );
    const echo = await compileAssemblyScript({
      baseDir: dir,
      args: [
        'echo.ts',
        '-O3',
        '--runtime',
        'stub',
        '--use',
        'abort=~lib/phala-bridge/assembly/abort/phalaAbort',
      ],
    });
    const contract = instance(echo);
    for (const s of [
      'plain',
      'quote " backslash \\ slash /',
      '\b\f\n\r\t\u0000\u001f\u007f',
      'wörld 🌍 \u2028',
    ]) {
      const out = text(expectOk(await contract.run(s, phala(ALICE))).sealed);
      const js = { é: `${s}!`, b: -42, a: true, A: null, '\u{1F600}': 'x', Z: null, aa: 9007199254740991 };
      const keys = Object.keys(js).sort() as (keyof typeof js)[];
      expect(out).toBe(`{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(js[k])}`).join(',')}}`);
    }
  });
});

describe('examples/wasm', () => {
  it('are committed as their sources compile, and import only the host interface', async () => {
    expect(exampleNames()).toEqual(['bench', 'greeter', 'hash-chain', 'sealed-bid-auction']);
    for (const name of exampleNames()) {
      const built = await buildExample(name);
      expect(Buffer.from(built).equals(Buffer.from(wasmExample(name as 'greeter'))), name).toBe(true);
      expectHostInterfaceOnly(built);
      expect(exportsOf(built)).toContain('memory');
      expect(exportsOf(built)).toContain('handle');
    }
  });

  it('greeter answers as the JavaScript greeter does, byte for byte, from every origin', async () => {
    const wasm = instance(wasmExample('greeter'));
    const js = instance(GREETER_CONTRACT);
    const origins = [evm(SOLIDITY, `0x${'12'.repeat(20)}`), phala(ALICE), { ...phala(BOB), kind: 'xcm' }];
    for (const [i, origin] of [...origins, origins[0]!].entries()) {
      const name = ['world', 'wörld', '🌍', ''][i]!;
      const requestId = nextRequestId();
      const [a, b] = [await wasm.run(name, origin, requestId), await js.run(name, origin, requestId)];
      expect(shown(a)).toEqual(shown(b));
      expect(text(expectOk(a).public)).toBe(`hello, ${name}!`);
    }
    expect(text(expectOk(await wasm.query()).sealed)).toBe('{"count":4}');
    expect(text(expectOk(await wasm.query()).sealed)).toBe(text(expectOk(await js.query()).sealed));
  });

  const bid = (amount: bigint) =>
    Buffer.from(encodeAbiParameters([{ type: 'uint8' }, { type: 'uint256' }], [1, amount]).slice(2), 'hex');
  const settle = Buffer.from(encodeAbiParameters([{ type: 'uint8' }], [2]).slice(2), 'hex');

  it.each<[string, AuctionSettings]>([
    ['the Solidity contract alone bids and settles', { auctioneer: SOLIDITY, bidders: [SOLIDITY] }],
    ['anyone bids, an account settles', { auctioneer: EOA, bidders: 'any' }],
  ])('sealed-bid auction answers as the JavaScript one does: %s', async (_, settings) => {
    const wasm = instance(wasmAuctionContract(settings));
    const js = instance(auctionContract(settings));
    const steps: [Uint8Array, Origin][] = [
      [bid(5n), evm(SOLIDITY, `0x${'01'.repeat(20)}`)],
      [bid(10n ** 30n), evm(SOLIDITY, `0x${'02'.repeat(20)}`)],
      [bid(0n), evm(SOLIDITY, `0x${'03'.repeat(20)}`)],
      [bid(7n), evm(EOA, EOA.requester)],
      [bid(10n ** 30n), evm(SOLIDITY, `0x${'04'.repeat(20)}`)],
      [bid(1n).subarray(0, 40), evm(SOLIDITY, `0x${'05'.repeat(20)}`)],
      [settle, evm(EOA === settings.auctioneer ? SOLIDITY : EOA, `0x${'06'.repeat(20)}`)],
      [Buffer.from('00', 'hex'), evm(SOLIDITY, `0x${'07'.repeat(20)}`)],
      [settle, evm(settings.auctioneer, `0x${'08'.repeat(20)}`)],
      [settle, evm(settings.auctioneer, `0x${'09'.repeat(20)}`)],
      [bid(9n), evm(SOLIDITY, `0x${'0a'.repeat(20)}`)],
    ];
    const answers: Shown[] = [];
    for (const [input, origin] of steps) {
      const requestId = nextRequestId();
      const a = shown(await wasm.run(input, origin, requestId));
      expect(a).toEqual(shown(await js.run(input, origin, requestId)));
      answers.push(a);
    }
    // The second 10^30 bid loses to the earlier one at the same amount; it sets the price.
    const settled = answers.find((a) => 'sealed' in a && a.sealed.startsWith('{"bids"'));
    expect(settled && 'public' in settled).toBe(true);
    const [, winner, price] = decodeAbiParameters(
      [{ type: 'uint8' }, { type: 'bytes32' }, { type: 'uint256' }],
      `0x${(settled as { public: string }).public}`,
    );
    expect(price).toBe(10n ** 30n);
    expect(BigInt(winner)).toBeGreaterThan(0n);
    expect(answers.filter((a) => 'failed' in a).length).toBeGreaterThanOrEqual(2);
    expect(text(expectOk(await wasm.query()).sealed)).toBe(text(expectOk(await js.query()).sealed));
  });

  it('the auction refuses settings longer than its slot, and writes them nowhere but the slot', () => {
    const many = Array.from({ length: 9 }, (_, i) => ({
      ...SOLIDITY,
      requester: `0x${String(i).repeat(40)}`,
    }));
    expect(() => wasmAuctionContract({ auctioneer: EOA, bidders: many })).toThrow(WasmAuctionSettingsError);
    const built = wasmExample('sealed-bid-auction');
    const written = wasmAuctionContract({ auctioneer: EOA, bidders: many.slice(0, 5) });
    expect(written.length).toBe(built.length);
    const differing = built.map((b, i) => (b === written[i] ? -1 : i)).filter((i) => i >= 0);
    expect(differing.at(-1)! - differing[0]!).toBeLessThan(2048); // one 1,024-character UTF-16 string
  });

  it('bench computes fib and SHA-256 in the contract', async () => {
    const bench = instance(wasmExample('bench'));
    const fibInput = Buffer.alloc(5);
    fibInput[0] = 1;
    fibInput.writeUInt32LE(25, 1);
    const fib = expectOk(await bench.run(fibInput, phala(ALICE)));
    expect(Buffer.from(fib.public).readUInt32LE(0)).toBe(75_025);
    for (const size of [0, 55, 56, 64, 1000, 100_000]) {
      const data = createHash('sha512').update(String(size)).digest().subarray(0, 1);
      const message = Buffer.alloc(size, data);
      const out = expectOk(await bench.run(Buffer.concat([Buffer.of(2), message]), phala(ALICE)));
      expect(Buffer.from(out.public).toString('hex')).toBe(
        createHash('sha256').update(message).digest('hex'),
      );
    }
    const pattern = Buffer.alloc(5);
    pattern[0] = 3;
    pattern.writeUInt32LE(100_000, 1);
    const made = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 255));
    expect(Buffer.from(expectOk(await bench.run(pattern, phala(ALICE))).public).toString('hex')).toBe(
      createHash('sha256').update(made).digest('hex'),
    );
    expect(expectOk(await bench.run('', phala(ALICE))).public.length).toBe(0);
  });

  it('hash-chain computes its rounds in the contract and keeps their total', async () => {
    const chain = instance(wasmExample('hash-chain'));
    const seed = createHash('sha256').update('seed').digest();
    const request = (rounds: bigint) =>
      Buffer.from(
        encodeAbiParameters(
          [{ type: 'uint256' }, { type: 'bytes32' }],
          [rounds, `0x${seed.toString('hex')}`],
        ).slice(2),
        'hex',
      );
    let head = seed;
    for (let i = 0; i < 5000; i++) head = createHash('sha256').update(head).digest();
    const out = expectOk(await chain.run(request(5000n), phala(ALICE)));
    const [publicHead, rounds] = decodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint256' }],
      `0x${Buffer.from(out.public).toString('hex')}`,
    );
    expect([publicHead, rounds]).toEqual([`0x${head.toString('hex')}`, 5000n]);
    expect(JSON.parse(text(out.sealed))).toEqual({
      head: `0x${head.toString('hex')}`,
      rounds: 5000,
      totalRounds: 5000,
    });
    expect(expectFailure(await chain.run(request(0n), phala(ALICE))).error.code).toBe('ContractThrew');
    expect(expectFailure(await chain.run(request(10n ** 8n), phala(ALICE))).error.code).toBe('ContractThrew');
    expect(text(expectOk(await chain.query()).sealed)).toBe('{"totalRounds":5000}');
  });
});
