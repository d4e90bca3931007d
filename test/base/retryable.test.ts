import { readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Hex,
  createPublicClient,
  createWalletClient,
  encodeErrorResult,
  http,
  parseEther,
  parseGwei,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  estimateGas,
  getBlock,
  getTransactionReceipt,
  readContract,
  sendRawTransaction,
  waitForTransactionReceipt,
} from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseError, InvalidInputError, type Retry, causes, walkCauses } from '../../src/base/errors.js';
import { PollTimeoutError } from '../../src/base/poll.js';
import { isRetryable, retryOf } from '../../src/base/retry.js';
import { type EvmNode, EvmNodeStartError, freePort, startEvmNode } from '../../src/devnet/evm/node.js';
import {
  GatewayRejectedError,
  GatewayRevertedError,
  SubmitterError,
  WatcherRpcError,
} from '../../src/evm/errors.js';
import { phalaBridgeGatewayAbi } from '../../src/evm/artifacts/PhalaBridgeGateway.js';
import { gatewayFailure } from '../../src/evm/gateway/decode-error.js';
import { QuorumNotReachedError } from '../../src/evm/proofs/errors.js';
import { TransactionRejectedError } from '../../src/phala/errors.js';
import { LightClientError } from '../../src/phala/light-client/errors.js';
import { PlatformError } from '../../src/pruntime/enclave/platforms/errors.js';
import { QueryError } from '../../src/pruntime/worker/direct-query.js';
import { RequestDeferredError, RequestRejectedError } from '../../src/pruntime/worker/errors.js';
import { AdminApiError } from '../../src/relayer/admin-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(directory: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, directory)).sort()) {
    const relative = `${directory}/${name}`;
    if (statSync(path.join(root, relative)).isDirectory()) out.push(...sourceFiles(relative));
    else if (name.endsWith('.ts')) out.push(relative);
  }
  return out;
}

/** Every `class X extends Y {…}` of src/, with its body (braces balanced; source text is enough). */
function classes(): { file: string; name: string; base: string; body: string }[] {
  const out: { file: string; name: string; base: string; body: string }[] = [];
  for (const file of sourceFiles('src')) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const m of text.matchAll(/class (\w+) extends (\w+)\s*\{/g)) {
      let depth = 1;
      let i = m.index + m[0].length;
      while (depth > 0 && i < text.length) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}') depth--;
        i++;
      }
      out.push({ file, name: m[1]!, base: m[2]!, body: text.slice(m.index, i) });
    }
  }
  return out;
}

describe('every error class states whether a retry can help', () => {
  const all = classes();
  const errorClasses = new Set(['BaseError']);
  for (let grown = true; grown; ) {
    grown = false;
    for (const c of all)
      if (errorClasses.has(c.base) && !errorClasses.has(c.name)) {
        errorClasses.add(c.name);
        grown = true;
      }
  }

  it('each class derived from BaseError declares its static retry', () => {
    const silent = all
      .filter((c) => errorClasses.has(c.name) && c.name !== 'BaseError')
      .filter((c) => !/static override readonly retry: Retry = '(retry|never|after-fix)'/.test(c.body))
      .map((c) => `${c.file}: ${c.name}`);
    expect(errorClasses.size).toBeGreaterThan(90);
    expect(silent).toEqual([]);
  });

  it('no error class extends the plain Error (it could not say)', () => {
    const plain = all
      .filter((c) => c.base === 'Error' && c.name !== 'BaseError')
      .map((c) => `${c.file}: ${c.name}`);
    expect(plain).toEqual([]);
  });

  it('the class says it, a thrower may say better, and plain `new BaseError` asks for a fix', () => {
    expect(new InvalidInputError('x', 'y').retry).toBe('never');
    expect(new WatcherRpcError('x').retry).toBe('retry');
    expect(new WatcherRpcError('x', { retry: 'after-fix' }).retry).toBe('after-fix');
    expect(new BaseError('--limit: expected a positive integer.').retry).toBe('after-fix');
    expect(SubmitterError.retry).toBe('retry');
  });
});

/** Instances whose retry depends on what they carry: input → expected. */
const OURS: readonly (readonly [string, unknown, Retry])[] = [
  ['gateway refusal RequestExpired', new GatewayRejectedError('RequestExpired'), 'never'],
  ['gateway refusal RequestNotPending', new GatewayRejectedError('RequestNotPending'), 'never'],
  [
    'gateway refusal WorkerNotAuthorized (registration in flight)',
    new GatewayRejectedError('WorkerNotAuthorized'),
    'retry',
  ],
  ['gateway refusal WrongEpoch (set update in flight)', new GatewayRejectedError('WrongEpoch'), 'retry'],
  [
    'gatewayFailure of a revert carrying RequestExpired: that refusal',
    gatewayFailure(
      new Error('execution reverted', {
        cause: {
          data: encodeErrorResult({
            abi: phalaBridgeGatewayAbi,
            errorName: 'RequestExpired',
            args: [`0x${'cd'.repeat(32)}`],
          }),
        },
      }),
      'could not be priced',
    ),
    'never',
  ],
  [
    'gatewayFailure of a failure with no gateway error: GatewayRevertedError',
    gatewayFailure(new Error('execution reverted'), 'could not be priced'),
    'retry',
  ],
  [
    'old-style GatewayRejectedError("reverted"): not a gateway error',
    new GatewayRejectedError('reverted'),
    'retry',
  ],
  [
    'old-style GatewayRejectedError("estimateGas failed")',
    new GatewayRejectedError('estimateGas failed'),
    'retry',
  ],
  [
    'revert without a decoded reason',
    new GatewayRevertedError('transaction reverted', { transactionHash: `0x${'ab'.repeat(32)}` }),
    'retry',
  ],
  [
    'Substrate 1010 Transaction is outdated',
    new TransactionRejectedError(1010, 'Invalid Transaction: Transaction is outdated'),
    'retry',
  ],
  [
    'Substrate 1010 Inability to pay',
    new TransactionRejectedError(
      1010,
      'Invalid Transaction: Inability to pay some fees (e.g. account balance too low)',
    ),
    'after-fix',
  ],
  [
    'Substrate 1010 bad signature',
    new TransactionRejectedError(1010, 'Invalid Transaction: Transaction has a bad signature'),
    'never',
  ],
  [
    'Substrate 1014 priority too low',
    new TransactionRejectedError(1014, 'Priority is too low: (1 vs 1)'),
    'retry',
  ],
  ['light client: node failed', new LightClientError('rpc-error', 'x'), 'retry'],
  ['light client: bad signature', new LightClientError('bad-signature', 'x'), 'never'],
  ['TEE platform: concurrent writer', new PlatformError('x', 'y', undefined, { retryable: true }), 'retry'],
  ['TEE platform: misconfigured', new PlatformError('x', 'y'), 'after-fix'],
  ['worker query 429 busy', new QueryError(429, 'contract-busy', 'x'), 'retry'],
  ['worker query 404', new QueryError(404, 'unknown-contract', 'x'), 'never'],
  ['admin API without an answer', new AdminApiError('x'), 'retry'],
  ['admin API 401', new AdminApiError('x', { status: 401 }), 'after-fix'],
  ['request refused for good', new RequestRejectedError('RequestNotPending', 'x'), 'never'],
  ['request deferred', new RequestDeferredError('contract-busy', 'x'), 'retry'],
  ['EVM quorum not reached', new QuorumNotReachedError(1n, 2, []), 'retry'],
  [
    'EVM node port taken',
    new EvmNodeStartError('exited', 'Error: listen EADDRINUSE: address already in use'),
    'retry',
  ],
  ['EVM node other failure', new EvmNodeStartError('exited', 'Error HH8: config'), 'after-fix'],
  ['poll timeout', new PollTimeoutError('x'), 'retry'],
];

describe('the project errors, by what they carry', () => {
  it.each(OURS)('%s', (_, error, expected) => {
    expect(retryOf(error)).toBe(expected);
    expect(isRetryable(error)).toBe(expected === 'retry');
  });

  it('the outermost error that knows decides; a chain is walked through plain Errors', () => {
    const refusal = new GatewayRejectedError('RequestExpired');
    expect(retryOf(new Error('wrapped', { cause: refusal }))).toBe('never');
    expect(retryOf(new WatcherRpcError('x', { cause: refusal }))).toBe('retry');
    expect(retryOf(new Error('unexpected'))).toBeUndefined();
    expect(isRetryable('a string')).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });

  it('walks causes outermost first, stops at cycles, and walk() finds a link like viem', () => {
    const inner = new Error('inner');
    const outer = new WatcherRpcError('outer', { cause: inner });
    expect([...causes(outer)]).toEqual([outer, inner]);
    expect(outer.walk()).toBe(inner);
    expect(walkCauses(outer, (e) => e === inner)).toBe(inner);
    expect(walkCauses(outer, () => false)).toBeNull();
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect([...causes(a)]).toEqual([a, b]);
  });
});

/** What viem throws against a real Hardhat node (and a dead or silent endpoint), with the verdict. */
describe('viem errors from a real Hardhat node, by class', () => {
  let node: EvmNode;
  let silent: net.Server;
  let silentUrl: string;
  let deadUrl: string;
  const caught: Record<string, unknown> = {};

  async function capture(label: string, run: () => Promise<unknown>) {
    try {
      await run();
    } catch (error) {
      caught[label] = error;
      return;
    }
    throw new Error(`${label}: did not throw`);
  }

  beforeAll(async () => {
    node = await startEvmNode({ accounts: 2, balance: parseEther('1') });
    const client = createPublicClient({ transport: http(node.rpcUrl) });
    const account = privateKeyToAccount(node.accounts[0]!.privateKey);
    const wallet = createWalletClient({ account, transport: http(node.rpcUrl) });
    // A contract whose every call reverts without data: runtime PUSH1 0 PUSH1 0 REVERT.
    const hash = await wallet.sendTransaction({
      chain: null,
      data: '0x6005600c60003960056000f360006000fd',
    });
    const reverter = (await waitForTransactionReceipt(client, { hash })).contractAddress!;
    const abi = [
      { type: 'function', name: 'f', inputs: [], outputs: [{ type: 'uint256' }], stateMutability: 'view' },
    ] as const;
    await capture('receipt not found', () => getTransactionReceipt(client, { hash: `0x${'11'.repeat(32)}` }));
    await capture('block not found', () => getBlock(client, { blockNumber: 10_000n }));
    await capture('call reverted', () => readContract(client, { address: reverter, abi, functionName: 'f' }));
    await capture('estimate reverted', () =>
      estimateGas(client, { account, to: reverter, data: '0x26121ff0' }),
    );
    await capture('nonce too low', () =>
      wallet.sendTransaction({ chain: null, to: node.accounts[1]!.address, nonce: 0, gas: 21_000n }),
    );
    await capture('insufficient funds', () =>
      wallet.sendTransaction({ chain: null, to: node.accounts[1]!.address, value: parseEther('5') }),
    );
    const raw = (nonce: number): Promise<Hex> =>
      account.signTransaction({
        chainId: node.chainId,
        type: 'eip1559',
        nonce,
        to: node.accounts[1]!.address,
        value: 1n,
        gas: 21_000n,
        maxFeePerGas: parseGwei('10'),
        maxPriorityFeePerGas: parseGwei('1'),
      });
    const serializedTransaction = await raw(0);
    await capture('raw nonce too low', () => sendRawTransaction(client, { serializedTransaction }));
    // Nothing listens on a fresh free port; a server that accepts and never answers times out.
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    await capture('connection refused', () =>
      createPublicClient({ transport: http(deadUrl, { retryCount: 0 }) }).getBlockNumber(),
    );
    silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    await capture('timeout', () =>
      createPublicClient({ transport: http(silentUrl, { retryCount: 0, timeout: 300 }) }).getBlockNumber(),
    );
  });

  afterAll(async () => {
    silent?.close();
    await node?.stop();
  });

  // label → retry, and the class viem gave (the point: recognised by class, not by text).
  const CASES: readonly (readonly [string, Retry | undefined, string])[] = [
    ['receipt not found', 'retry', 'TransactionReceiptNotFoundError'],
    ['block not found', 'retry', 'BlockNotFoundError'],
    ['call reverted', 'never', 'ContractFunctionRevertedError'],
    // Hardhat answers a reverting eth_estimateGas with -32603 and no data: viem has no revert
    // class for it, and -32603 is the node's "internal error", so it counts as retryable (the
    // gateway submitter turns such an estimate into GatewayRevertedError, which says the same).
    ['estimate reverted', 'retry', 'InternalRpcError'],
    ['nonce too low', 'retry', 'NonceTooLowError'],
    // Hardhat's "Sender doesn't have enough funds" is a text viem does not map: no class says it
    // (classifyRpcError's provider table does: test/evm/rpc-errors.test.ts).
    ['insufficient funds', undefined, 'InvalidInputRpcError'],
    // sendRawTransaction leaves the node's error unmapped; viem's getNodeError maps the text.
    ['raw nonce too low', 'retry', 'InvalidInputRpcError'],
    ['connection refused', 'retry', 'HttpRequestError'],
    ['timeout', 'retry', 'TimeoutError'],
  ];

  it.each(CASES)('%s → %s (%s)', (label, expected, className) => {
    const error = caught[label];
    expect([...causes(error)].map((e) => (e as Error).constructor.name)).toContain(className);
    expect(retryOf(error)).toBe(expected);
    // The same, wrapped by a plain Error and by one of ours that defers to its cause.
    expect(retryOf(new Error('wrapped', { cause: error }))).toBe(expected);
    expect(
      retryOf(new SubmitterError('send failed', { cause: error, retry: retryOf(error) ?? 'never' })),
    ).toBe(expected ?? 'never');
  });

  it('a socket error is known by its code', async () => {
    const error = await new Promise<Error>((resolve) => {
      const socket = net.connect(Number(new URL(deadUrl).port), '127.0.0.1');
      socket.on('error', resolve);
    });
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isRetryable(new Error('redis down', { cause: error }))).toBe(true);
  });
});
