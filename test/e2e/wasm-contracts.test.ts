import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  type Hex,
  createPublicClient,
  createWalletClient,
  decodeAbiParameters,
  encodeAbiParameters,
  http,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/base/bytes.js';
import { pollUntil } from '../../src/base/poll.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import { devnetClients } from '../../src/devnet/evm/clients.js';
import { deployTestConsumer } from '../../src/devnet/evm/deploy.js';
import { getContractInfo } from '../../src/evm/gateway/read.js';
import { testConsumerAbi } from '../../src/evm/artifacts/testing/TestConsumer.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import * as registry from '../../src/phala/actions/registry.js';
import { devSigner } from '../../src/phala/signers.js';
import {
  WasmModuleRefusedError,
  codeHashOf,
  deployContract,
  phalaBridgeGatewayAbi,
  queryContract,
  requestFromEvm,
  requestFromPhala,
  requestFromSibling,
  sealInputForEvm,
  verifyContractCode,
} from '../../src/sdk/index.js';
import { expectFulfilled } from '../../src/testing/index.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { IMPORTS, wat } from '../pruntime/wasm/engine-helpers.js';

/**
 * WebAssembly contracts end to end on the devnet (issue 18): the devnet's `wasm-greeter`
 * (examples/wasm/greeter.ts compiled) answered from every origin — a Solidity consumer through the
 * gateway, a Phala-style account, a sibling account over XCM — with its sealed state carried from
 * one request to the next and read back by a query; hostile modules uploaded past the SDK end with
 * their error code as the public output while the workers keep serving. One devnet for all.
 */
let devnet: Devnet;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin/phala-bridge.js');
const run = promisify(execFile);
const decoder = new TextDecoder();
const sealedOf = (f: { sealed?: Uint8Array }) => JSON.parse(decoder.decode(f.sealed));

beforeAll(async () => {
  devnet = await startDevnet({
    redisUrl: REDIS_URL,
    redisPrefix: `{${uniquePrefix('wasm')}}`,
    examples: false,
  });
}, 180_000);

afterAll(async () => {
  await devnet?.stop();
});

/** Uploads and instantiates code straight through the pallet (no SDK check), and waits for its key. */
async function deployRaw(name: string, code: Uint8Array): Promise<Hex> {
  const signer = await devSigner('Eve', 30);
  const uploaded = await contracts.uploadCode(devnet.phala, { signer, code: toHex(code) });
  expect(uploaded.event.kind).toBe('wasm');
  const instantiated = await contracts.instantiate(devnet.phala, {
    signer,
    codeHash: uploaded.event.codeHash as Hex,
    cluster: devnet.cluster,
    salt: toHex(new TextEncoder().encode(name)),
  });
  const contractId = instantiated.event.contractId as Hex;
  await pollUntil(async () => (await registry.getContractKey(devnet.phala, contractId))?.publicKey, {
    label: `the key of ${name}`,
    timeoutMs: 60_000,
  });
  return contractId;
}

describe('WebAssembly contracts on the devnet (sim TEE)', () => {
  it('the devnet deploys wasm-greeter as a module, verifiable from its file', async () => {
    const greeter = devnet.contracts['wasm-greeter'];
    const file = path.join(repo, 'examples/wasm/build/greeter.wasm');
    await expect(verifyContractCode(devnet.phala, { contractId: greeter.contractId, file })).resolves.toEqual(
      { codeHash: greeter.codeHash },
    );
    expect((await contracts.getCodeInfo(devnet.phala, greeter.codeHash))?.kind).toBe('wasm');
  });

  it('answers a Solidity consumer, a Phala-style account and a sibling over XCM, its state carried between them', async () => {
    const contractId = devnet.contracts['wasm-greeter'].contractId;
    const { evm } = devnet.chains;

    // EVM: a consumer contract asks through the gateway; the callback lands in it.
    const clients = devnetClients(evm, evm.accounts[6]!.privateKey);
    const consumer = (await deployTestConsumer(clients, evm.gateway)).address;
    const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });
    const sealed = await sealInputForEvm(publicClient, {
      gateway: evm.gateway,
      contractId,
      requester: consumer,
      endUser: clients.walletClient.account.address,
      input: 'Solidity',
    });
    const hash = await clients.walletClient.writeContract({
      address: consumer,
      abi: testConsumerAbi,
      functionName: 'send',
      args: [
        contractId,
        sealed.sealedInput,
        sealed.responseKey.publicKey,
        300_000,
        BigInt(Math.floor(Date.now() / 1000) + 3_600),
      ],
    });
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
    const [sent] = parseEventLogs({
      abi: phalaBridgeGatewayAbi,
      logs: receipt.logs,
      eventName: 'RequestSent',
    });
    const viaEvm = await expectFulfilled(
      devnet,
      { kind: 'evm', requestId: sent!.args.requestId, fromBlock: receipt.blockNumber },
      {
        publicOutput: 'hello, Solidity!',
        responseSecretKey: sealed.responseKey.secretKey,
        timeoutMs: 90_000,
      },
    );
    expect(sealedOf(viaEvm)).toEqual({ greeting: 1, origin: 'evm', secret: 'only you can read this' });
    const read = (functionName: 'received' | 'lastRequestId') =>
      clients.publicClient.readContract({ address: consumer, abi: testConsumerAbi, functionName });
    expect(await read('received')).toBe(1n);
    expect(await read('lastRequestId')).toBe(sent!.args.requestId);

    // Phala-style account.
    const viaPhala = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Dave', 30),
      contractId,
      input: 'Substrate',
    });
    const phalaAnswer = await expectFulfilled(devnet, viaPhala, {
      publicOutput: 'hello, Substrate!',
      responseSecretKey: viaPhala.responseSecretKey,
      timeoutMs: 60_000,
    });
    expect(sealedOf(phalaAnswer)).toEqual({ greeting: 2, origin: 'phala', secret: 'only you can read this' });

    // A sibling account over XCM.
    const viaXcm = await requestFromSibling(devnet.sibling, {
      phala: devnet.phala,
      signer: await devSigner('Alice', 42),
      contractId,
      input: 'XCM',
    });
    const xcmAnswer = await expectFulfilled(devnet, viaXcm, {
      publicOutput: 'hello, XCM!',
      responseSecretKey: viaXcm.responseSecretKey,
      timeoutMs: 90_000,
    });
    expect(sealedOf(xcmAnswer)).toEqual({ greeting: 3, origin: 'xcm', secret: 'only you can read this' });

    // A query reads the committed state through a worker, sealed end to end.
    const answer = await pollUntil(
      async () => {
        const a = await queryContract(devnet.phala, {
          workerUrl: devnet.workers[0]!.url,
          contractId,
          input: '',
        });
        return JSON.parse(decoder.decode(a.output)).count === 3 ? a : null;
      },
      { label: 'the count of 3 in a query', timeoutMs: 30_000 },
    );
    expect(answer.gasUsed).toBeGreaterThan(0);
  }, 300_000);

  it('shows a module the origin-chain block its request was verified in (context field 5)', async () => {
    // Public output: the 8-byte little-endian block the host writes for context field 5.
    const blockModule = await wat(`(module ${IMPORTS}
      (memory (export "memory") 1)
      (func (export "handle")
        (drop (call $context (i32.const 5) (i32.const 0) (i32.const 8)))
        (call $output (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 0))))`);
    const contractId = await deployRaw('block-reader', blockModule);
    const blockOf = (hex: Hex) => Buffer.from(hex.slice(2), 'hex').readBigUInt64LE();

    const phalaHead = async () => BigInt((await devnet.phala.api.rpc.chain.getHeader()).number.toNumber());
    const before = await phalaHead();
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie', 30),
      contractId,
      input: '',
    });
    const phala = blockOf((await expectFulfilled(devnet, sent, { timeoutMs: 60_000 })).publicOutput);
    // Proven in a finalized block that holds the request: after it was sent, before it was answered.
    expect(phala).toBeGreaterThan(before);
    expect(phala).toBeLessThanOrEqual(await phalaHead());

    const { evm } = devnet.chains;
    const account = privateKeyToAccount(evm.accounts[7]!.privateKey);
    const sender = createWalletClient({ account, transport: http(evm.rpcUrl) });
    const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });
    await pollUntil(
      async () => (await getContractInfo(publicClient, { gateway: evm.gateway, contractId })).registered,
      { label: 'block-reader on the gateway', timeoutMs: 60_000 },
    );
    const viaEvm = await requestFromEvm(sender, {
      publicClient,
      gateway: evm.gateway,
      contractId,
      input: '',
    });
    const evmBlock = blockOf((await expectFulfilled(devnet, viaEvm, { timeoutMs: 60_000 })).publicOutput);
    // The EVM block whose storage proof held the request's commitment: at or after the request's own.
    expect(evmBlock).toBeGreaterThanOrEqual(viaEvm.blockNumber);
    expect(evmBlock).toBeLessThanOrEqual(await publicClient.getBlockNumber());
  }, 180_000);

  it('`phala-bridge contract deploy` uploads a .wasm file; the module computes and is queried', async () => {
    const ws = ['--ws-url', devnet.chains.phala.wsUrl];
    const cli = async (...args: string[]) =>
      (await run(process.execPath, [bin, 'contract', ...args], { timeout: 90_000 })).stdout;
    const file = path.join(repo, 'examples/wasm/build/hash-chain.wasm');
    const deployed = JSON.parse(
      await cli('deploy', file, ...ws, '--dev', 'Eve', '--salt', 'cli', '--json'),
    ) as {
      contractId: Hex;
      codeHash: Hex;
      kind: string;
    };
    expect(deployed.kind).toBe('wasm');
    expect(deployed.codeHash).toBe(codeHashOf(new Uint8Array(readFileSync(file))));
    expect(await cli('verify', deployed.contractId, file, ...ws)).toContain('runs');

    const seed = `0x${'07'.repeat(32)}` as Hex;
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie', 30),
      contractId: deployed.contractId,
      input: fromHex(encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [5_000n, seed])),
    });
    const answered = await expectFulfilled(devnet, sent, { timeoutMs: 60_000 });
    let head = Buffer.from(seed.slice(2), 'hex');
    for (let i = 0; i < 5_000; i++) head = createHash('sha256').update(head).digest();
    expect(decodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], answered.publicOutput)).toEqual([
      `0x${head.toString('hex')}`,
      5_000n,
    ]);
    const queried = await pollUntil(
      async () => {
        const out = await cli(
          'query',
          deployed.contractId,
          'total',
          ...ws,
          '--worker',
          devnet.workers[1]!.url,
        );
        return out.includes('"totalRounds":5000') ? out : null;
      },
      { label: 'totalRounds 5000 in a query', timeoutMs: 30_000 },
    );
    expect(JSON.parse(queried)).toEqual({ totalRounds: 5_000 });
  }, 240_000);

  it('refuses a module no worker would run before uploading it, naming why', async () => {
    const outside = await wat(`(module
      (import "env" "abort" (func (param i32 i32 i32 i32)))
      (memory (export "memory") 1)
      (func (export "handle")))`);
    const error = await deployContract(devnet.phala, {
      signer: await devSigner('Eve', 30),
      code: outside,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WasmModuleRefusedError);
    expect((error as WasmModuleRefusedError).reason).toBe('import-not-allowed');
    expect(await contracts.getCode(devnet.phala, codeHashOf(outside))).toBeNull();
  });

  it('answers hostile modules uploaded past the SDK with their error code, and keeps serving', async () => {
    const loop = await wat(`(module ${IMPORTS}
      (memory (export "memory") 1)
      (func (export "handle") (loop $forever (br $forever))))`);
    const outside = await wat(`(module
      (import "env" "now" (func (result i64)))
      (memory (export "memory") 1)
      (func (export "handle")))`);
    const [loopId, outsideId] = [
      await deployRaw('endless-loop', loop),
      await deployRaw('outside-import', outside),
    ];
    const signer = await devSigner('Ferdie', 30);

    const started = Date.now();
    const looped = await requestFromPhala(devnet.phala, { signer, contractId: loopId, input: 'spin' });
    await expectFulfilled(devnet, looped, { publicOutput: 'OutOfGas', timeoutMs: 90_000 });
    const loopSeconds = (Date.now() - started) / 1000;

    const refused = await requestFromPhala(devnet.phala, { signer, contractId: outsideId, input: 'x' });
    await expectFulfilled(devnet, refused, { publicOutput: 'InvalidContract', timeoutMs: 60_000 });

    // The workers still serve: the greeter answers, its state where the last test left it.
    const after = await requestFromPhala(devnet.phala, {
      signer,
      contractId: devnet.contracts['wasm-greeter'].contractId,
      input: 'still here',
    });
    const answer = await expectFulfilled(devnet, after, {
      publicOutput: 'hello, still here!',
      responseSecretKey: after.responseSecretKey,
      timeoutMs: 60_000,
    });
    expect(sealedOf(answer).greeting).toBe(4);
    console.log(`endless loop answered as OutOfGas in ${loopSeconds.toFixed(1)} s (request to fulfilment)`);
  }, 300_000);
});
