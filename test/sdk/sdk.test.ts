import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JsonRpcProvider, Wallet } from 'ethers';
import { type Hex, createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/base/bytes.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { devSigner } from '../../src/phala/signers.js';
import {
  CodeMismatchError,
  ContractQueryError,
  codeHashOf,
  deployContract,
  openOutput,
  queryContract,
  requestFromEvm,
  requestFromPhala,
  verifyContractCode,
  waitForEvmResult,
  waitForPhalaResult,
} from '../../src/sdk/index.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/phala-bridge.js');
const run = promisify(execFile);
const text = (hex: Hex | Uint8Array) =>
  new TextDecoder().decode(typeof hex === 'string' ? fromHex(hex) : hex);

const NOTES = `
export function handle(input, ctx) {
  const note = ctx.utf8.decode(input);
  const notes = ctx.json.decode(ctx.state.get('notes') ?? '[]');
  notes.push(note);
  ctx.state.set('notes', ctx.json.encode(notes));
  return { public: 'noted ' + notes.length, sealed: 'your note: ' + note };
}
export function query(input, ctx) {
  const notes = ctx.json.decode(ctx.state.get('notes') ?? '[]');
  return { count: notes.length, asked: ctx.utf8.decode(input) };
}
`;

/** The SDK against the embedded devnet (real chains, real relayer and workers; sim TEE only). */
let devnet: Devnet;
let notesFile: string;
let notesId: Hex;

beforeAll(async () => {
  devnet = await startDevnet({ redisUrl: REDIS_URL, redisPrefix: `{${uniquePrefix('sdk')}}` });
  notesFile = path.join(devnet.dataDir, 'notes.js');
  writeFileSync(notesFile, NOTES);
}, 120_000);

afterAll(async () => {
  await devnet?.stop();
});

describe('SDK on the devnet (sim TEE)', () => {
  it('deploys a contract from a file, waits for its key, and verifies the code on chain', async () => {
    const deployed = await deployContract(devnet.phala, {
      signer: await devSigner('Alice'),
      file: notesFile,
      cluster: devnet.cluster,
    });
    notesId = deployed.contractId;
    expect(deployed.codeHash).toBe(codeHashOf(NOTES));
    expect(deployed.publicKey).toMatch(/^0x[0-9a-f]{64}$/);
    await expect(verifyContractCode(devnet.phala, { contractId: notesId, file: notesFile })).resolves.toEqual(
      {
        codeHash: deployed.codeHash,
      },
    );
    await expect(
      verifyContractCode(devnet.phala, { contractId: notesId, code: `${NOTES}\n// changed` }),
    ).rejects.toBeInstanceOf(CodeMismatchError);
  }, 60_000);

  it('sends a request from an ethers v6 signer and opens the sealed answer', async () => {
    const { evm } = devnet.chains;
    const provider = new JsonRpcProvider(evm.rpcUrl, undefined, { staticNetwork: true });
    const sender = new Wallet(evm.accounts[5]!.privateKey, provider);
    const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });
    const sent = await requestFromEvm({
      sender,
      publicClient,
      gateway: evm.gateway,
      contractId: devnet.contracts.greeter.contractId,
      input: 'ethers',
    });
    expect(sent.requester).toBe(sender.address);
    const result = await waitForEvmResult({
      publicClient,
      gateway: evm.gateway,
      requestId: sent.requestId,
      fromBlock: sent.blockNumber,
      timeoutMs: 60_000,
    });
    expect(text(result.publicOutput)).toBe('hello, ethers!');
    const opened = JSON.parse(text(openOutput({ ...result, ...sent })));
    expect(opened.origin).toBe('evm');
    // Another key cannot open it.
    expect(() =>
      openOutput({ ...result, requestId: sent.requestId, responseSecretKey: `0x${'42'.repeat(32)}` }),
    ).toThrow();
    provider.destroy();
  }, 90_000);

  it('requests the new contract from a Substrate account, then queries it through a worker', async () => {
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie'),
      contractId: notesId,
      input: 'first note',
    });
    const result = await waitForPhalaResult(devnet.phala, { requestId: sent.requestId, timeoutMs: 60_000 });
    expect(text(result.publicOutput as Hex)).toBe('noted 1');
    expect(text(openOutput({ sealedOutput: result.sealedOutput as Hex, ...sent }))).toBe(
      'your note: first note',
    );

    const answer = await queryContract({
      workerUrl: devnet.workers[0]!.url,
      contractId: notesId,
      input: 'how many?',
      phala: devnet.phala,
    });
    expect(JSON.parse(text(answer.output))).toEqual({ count: 1, asked: 'how many?' });
    expect(answer.worker.address.toLowerCase()).toBe(devnet.workers[0]!.address.toLowerCase());
    await expect(
      queryContract({
        workerUrl: devnet.workers[0]!.url,
        contractId: `0x${'77'.repeat(32)}`,
        input: 'x',
        phala: devnet.phala,
      }),
    ).rejects.toBeInstanceOf(Error);
    await expect(
      queryContract({
        workerUrl: devnet.workers[0]!.url,
        contractId: notesId,
        contractPublicKey: `0x${'09'.repeat(32)}`,
        input: 'sealed to the wrong key',
      }),
    ).rejects.toBeInstanceOf(ContractQueryError);
  }, 90_000);

  it('wraps deploy, verify, request and query in `phala-bridge contract`', async () => {
    const ws = ['--ws-url', devnet.chains.phala.wsUrl];
    const cli = async (...args: string[]) =>
      (await run(process.execPath, [bin, 'contract', ...args], { timeout: 90_000 })).stdout;
    const deployed = JSON.parse(
      await cli(
        'deploy',
        notesFile,
        ...ws,
        '--cluster',
        devnet.cluster,
        '--dev',
        'Bob',
        '--salt',
        'cli',
        '--json',
      ),
    ) as { contractId: Hex; codeHash: Hex };
    expect(deployed.codeHash).toBe(codeHashOf(NOTES));
    expect(await cli('verify', deployed.contractId, notesFile, ...ws)).toContain('runs');
    const requested = JSON.parse(
      await cli('request', deployed.contractId, 'from the CLI', ...ws, '--dev', 'Bob', '--json'),
    ) as {
      publicOutput: Hex;
      sealed: string;
    };
    expect(text(requested.publicOutput)).toBe('noted 1');
    expect(requested.sealed).toBe('your note: from the CLI');
    const queried = await cli(
      'query',
      deployed.contractId,
      'count?',
      ...ws,
      '--worker',
      devnet.workers[1]!.url,
    );
    expect(JSON.parse(queried)).toEqual({ count: 1, asked: 'count?' });
    await expect(cli('request', deployed.contractId, 'no signer', ...ws)).rejects.toThrow(
      /PHALA_BRIDGE_SURI/,
    );
  }, 180_000);
});
