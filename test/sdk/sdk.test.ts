import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JsonRpcProvider, Wallet } from 'ethers';
import { type Hex, createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { waitForTransactionReceipt } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/base/bytes.js';
import { PollTimeoutError } from '../../src/base/poll.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { encodeRequest } from '../../src/evm/gateway/request.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import { devSigner } from '../../src/phala/signers.js';
import {
  CodeMismatchError,
  ContractQueryError,
  RequestRefusedError,
  codeHashOf,
  createResponseKey,
  decodeGatewayLog,
  deployContract,
  getContractTarget,
  getDefaultCluster,
  openOutput,
  queryContract,
  requestFromEvm,
  requestFromPhala,
  sealInput,
  sealInputForEvm,
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
let deployedKey: Hex;

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
    // No cluster named: the devnet's one cluster, the only one its approved workers serve.
    expect(await getDefaultCluster(devnet.phala)).toBe(devnet.cluster);
    const deployed = await deployContract(devnet.phala, {
      signer: await devSigner('Alice'),
      file: notesFile,
    });
    notesId = deployed.contractId;
    expect(deployed.cluster).toBe(devnet.cluster);
    expect(deployed.codeHash).toBe(codeHashOf(NOTES));
    expect(deployed.publicKey).toMatch(/^0x[0-9a-f]{64}$/);
    deployedKey = deployed.publicKey!;
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
    const sent = await requestFromEvm(sender, {
      publicClient,
      gateway: evm.gateway,
      contractId: devnet.contracts.greeter.contractId,
      input: 'ethers',
    });
    expect(sent.requester).toBe(sender.address);
    // The call shape of 0.1 still works (deprecated for one release).
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

  it('sends from a viem wallet client alone: reads go through its own transport', async () => {
    const { evm } = devnet.chains;
    const walletClient = createWalletClient({
      account: privateKeyToAccount(evm.accounts[8]!.privateKey),
      transport: http(evm.rpcUrl),
      pollingInterval: 100,
    });
    const sent = await requestFromEvm(walletClient, {
      gateway: evm.gateway,
      contractId: devnet.contracts.greeter.contractId,
      input: 'viem',
    });
    expect(sent.requester).toBe(walletClient.account.address);
    const result = await waitForEvmResult(sent.publicClient, {
      gateway: evm.gateway,
      requestId: sent.requestId,
      fromBlock: sent.blockNumber,
      timeoutMs: 60_000,
      relayer: devnet.relayer.admin,
    });
    expect(text(result.publicOutput)).toBe('hello, viem!');
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

    const answer = await queryContract(devnet.phala, {
      workerUrl: devnet.workers[0]!.url,
      contractId: notesId,
      input: 'how many?',
    });
    expect(JSON.parse(text(answer.output))).toEqual({ count: 1, asked: 'how many?' });
    expect(answer.worker.address.toLowerCase()).toBe(devnet.workers[0]!.address.toLowerCase());
    await expect(
      queryContract(devnet.phala, {
        workerUrl: devnet.workers[0]!.url,
        contractId: `0x${'77'.repeat(32)}`,
        input: 'x',
      }),
    ).rejects.toBeInstanceOf(Error);
    await expect(
      queryContract(devnet.phala, {
        workerUrl: devnet.workers[0]!.url,
        contractId: notesId,
        contractPublicKey: `0x${'09'.repeat(32)}`,
        input: 'sealed to the wrong key',
      }),
    ).rejects.toBeInstanceOf(ContractQueryError);
    // The deprecated shape, without a client: the worker is not checked against the chain.
    await expect(
      queryContract({
        workerUrl: devnet.workers[0]!.url,
        contractId: notesId,
        contractPublicKey: deployedKey,
        input: 'no chain',
      }),
    ).resolves.toMatchObject({ gasUsed: expect.any(Number) });
  }, 90_000);

  it('wraps deploy, verify, request and query in `phala-bridge contract`', async () => {
    const ws = ['--ws-url', devnet.chains.phala.wsUrl];
    const cli = async (...args: string[]) =>
      (await run(process.execPath, [bin, 'contract', ...args], { timeout: 90_000 })).stdout;
    const deployed = JSON.parse(
      await cli('deploy', notesFile, ...ws, '--dev', 'Bob', '--salt', 'cli', '--json'),
    ) as { contractId: Hex; codeHash: Hex; cluster: Hex };
    expect(deployed.codeHash).toBe(codeHashOf(NOTES));
    expect(deployed.cluster).toBe(devnet.cluster); // no --cluster: the devnet's
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

  it('fails fast with the refusal reason when the input was sealed for another requester', async () => {
    const { evm } = devnet.chains;
    const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });
    const sender = createWalletClient({
      account: privateKeyToAccount(evm.accounts[6]!.privateKey),
      transport: http(evm.rpcUrl),
    });
    const someoneElse = evm.accounts[7]!.address;
    const sealed = await sealInputForEvm(publicClient, {
      gateway: evm.gateway,
      contractId: devnet.contracts.greeter.contractId,
      requester: someoneElse,
      endUser: someoneElse,
      input: 'not for the sender',
    });
    const hash = await sender.sendTransaction({
      chain: null,
      to: evm.gateway,
      data: encodeRequest({
        contractId: devnet.contracts.greeter.contractId,
        sealedInput: sealed.sealedInput,
        responseKey: sealed.responseKey.publicKey,
        callbackGasLimit: 0,
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3_600),
      }),
    });
    const receipt = await waitForTransactionReceipt(publicClient, { hash });
    const started = Date.now();
    const event = receipt.logs
      .map((l) => decodeGatewayLog(l, evm.chainId))
      .find((e) => e?.kind === 'RequestSent');
    const requestId = event?.kind === 'RequestSent' ? event.requestId : '0x';
    const wait = { gateway: evm.gateway, requestId, fromBlock: receipt.blockNumber };
    const error = await waitForEvmResult(publicClient, {
      ...wait,
      timeoutMs: 60_000,
      relayer: devnet.relayer.admin,
    }).catch((e: unknown) => e);
    const seconds = (Date.now() - started) / 1000;
    expect(error).toBeInstanceOf(RequestRefusedError);
    const refused = error as RequestRefusedError;
    expect(refused.reason).toBe('input-unreadable');
    expect(refused.retry).toBe('never');
    expect(refused.requestId).toBe(requestId);
    expect(refused.security).toBe(false);
    expect(seconds).toBeLessThan(15);
    console.log(`refusal seen by the client ${seconds.toFixed(2)} s after the request was mined`);
    // Without the relayer, the client can only time out.
    await expect(waitForEvmResult(publicClient, { ...wait, timeoutMs: 1_000 })).rejects.toBeInstanceOf(
      PollTimeoutError,
    );
  }, 90_000);

  it('waits for a Phala-style answer with a relayer, and stops on a Phala-style refusal', async () => {
    const contractId = devnet.contracts.greeter.contractId;
    const relayer = devnet.relayer.admin;
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie'),
      contractId,
      input: 'relayer watched',
    });
    const result = await waitForPhalaResult(devnet.phala, {
      requestId: sent.requestId,
      timeoutMs: 60_000,
      relayer,
    });
    expect(text(result.publicOutput as Hex)).toBe('hello, relayer watched!');

    // Sealed for another account than the one that sends it.
    const { publicKey } = await getContractTarget(devnet.phala, { contractId });
    const responseKey = createResponseKey();
    const bad = await contracts.request(devnet.phala, {
      signer: await devSigner('Dave'),
      contractId,
      sealedInput: sealInput({
        contractPublicKey: publicKey,
        contractId,
        origin: { kind: 'phala', genesisHash: devnet.chains.phala.genesisHash },
        requester: `0x${'22'.repeat(32)}`,
        responseKey: responseKey.publicKey,
        input: 'not for Dave',
      }),
      responseKey: responseKey.publicKey,
      deadline: await contracts.deadlineIn(devnet.phala, 600),
    });
    const requestId = bad.event.requestId as Hex;
    await expect(
      waitForPhalaResult(devnet.phala, { requestId, timeoutMs: 60_000, relayer }),
    ).rejects.toMatchObject({
      name: 'RequestRefusedError',
      reason: 'input-unreadable',
      requestId,
    });
  }, 90_000);
});
