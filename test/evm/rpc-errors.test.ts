import {
  type Hex,
  InvalidInputRpcError,
  LimitExceededRpcError,
  NonceTooLowError,
  RpcRequestError,
  TimeoutError,
  createPublicClient,
  createWalletClient,
  http,
  parseEther,
  parseGwei,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { estimateGas, readContract, sendRawTransaction, waitForTransactionReceipt } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EvmNode, startEvmNode } from '../../src/devnet/evm/node.js';
import {
  RPC_ERROR_TEXTS,
  type RpcErrorKind,
  classifyRpcError,
  isAlreadyKnownError,
  isLogRangeError,
  isNonceTooLowError,
  matchRpcErrorText,
} from '../../src/evm/rpc-errors.js';

/** A node's JSON-RPC error as viem's HTTP transport hands it over (-32000 → InvalidInputRpcError). */
function nodeError(message: string, code = -32000): InvalidInputRpcError | RpcRequestError {
  const request = new RpcRequestError({
    body: { method: 'eth_sendRawTransaction' },
    error: { code, message },
    url: 'http://node',
  });
  return code === -32000 ? new InvalidInputRpcError(request) : request;
}

/** What providers that only send text say, verbatim (or in their documented format) → kind. */
const TEXTS: readonly (readonly [string, string, RpcErrorKind])[] = [
  ['geth', 'already known', 'already-known'],
  ['geth', 'replacement transaction underpriced', 'replacement-underpriced'],
  [
    'geth',
    'nonce too low: address 0x5B38Da6a701c568545dCfcB03FcB875f56beddC4, tx: 4 state: 5',
    'nonce-too-low',
  ],
  [
    'geth',
    'nonce too high: address 0x5B38Da6a701c568545dCfcB03FcB875f56beddC4, tx: 9 state: 5',
    'nonce-too-high',
  ],
  [
    'geth',
    'insufficient funds for gas * price + value: address 0x5B38… have 0 want 21000',
    'insufficient-funds',
  ],
  [
    'geth',
    'max fee per gas less than block base fee: address 0x5B38…, maxFeePerGas: 1, baseFee: 7',
    'fee-too-low',
  ],
  ['geth', 'transaction underpriced: tip needed 1, tip permitted 0', 'fee-too-low'],
  ['geth', 'transaction type not supported', 'type-not-supported'],
  ['geth', 'execution reverted', 'execution-reverted'],
  ['Erigon', 'existing txn with same hash', 'already-known'],
  ['Erigon', 'could not replace existing tx', 'replacement-underpriced'],
  ['Erigon', 'fee too low', 'fee-too-low'],
  ['Erigon', 'insufficient funds', 'insufficient-funds'],
  ['Nethermind (old)', 'AlreadyKnown', 'already-known'],
  ['Nethermind (old)', 'ReplacementNotAllowed', 'replacement-underpriced'],
  ['Nethermind (old)', 'OldNonce, Current nonce: 5, nonce of rejected tx: 4', 'nonce-too-low'],
  ['Nethermind (old)', 'NonceGap, Future nonce. Expected nonce: 5', 'nonce-too-high'],
  ['Nethermind (old)', 'FeeTooLow, MaxFeePerGas too low', 'fee-too-low'],
  ['Nethermind', 'InsufficientFunds, Account balance: 0, cumulative cost: 21000', 'insufficient-funds'],
  ['OpenEthereum', 'Transaction nonce is too low. Try incrementing the nonce.', 'nonce-too-low'],
  ['OpenEthereum', 'Transaction with the same hash was already imported.', 'already-known'],
  ['earlier list', 'Replacement transaction fee too low', 'replacement-underpriced'],
  ['earlier list', 'nonce has already been used', 'nonce-too-low'],
  ['earlier list', 'exceeds transaction sender account balance', 'insufficient-funds'],
  ['Ganache', 'VM Exception while processing transaction: revert', 'execution-reverted'],
  [
    'Hardhat',
    'Known transaction: 0xbd3b4196c646b931e427392ba9d10a07152dd07f3497b024d6fee7adf63f94e6',
    'already-known',
  ],
  [
    'Hardhat',
    "Sender doesn't have enough funds to send tx. The max upfront cost is: 5 and the sender's balance is: 1.",
    'insufficient-funds',
  ],
  [
    'Hardhat',
    'Transaction maxFeePerGas (1) is too low for the next block, which has a baseFeePerGas of 875000000',
    'fee-too-low',
  ],
  ['Hardhat', 'Error: Transaction reverted without a reason string', 'execution-reverted'],
  ['Infura', 'query returned more than 10000 results', 'log-range-too-large'],
  [
    'Alchemy',
    'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size',
    'log-range-too-large',
  ],
  ['QuickNode', 'eth_getLogs is limited to a 10,000 range', 'log-range-too-large'],
  ['public RPC', 'exceed maximum block range: 5000', 'log-range-too-large'],
  ['public RPC', 'block range is too wide', 'log-range-too-large'],
  ['hosted', 'request timed out', 'log-range-too-large'],
  ['hosted', 'too many results', 'log-range-too-large'],
];

describe('the provider text table', () => {
  it.each(TEXTS)('%s: %s → %s', (_, message, kind) => {
    expect(classifyRpcError(nodeError(message))).toBe(kind);
    // Deeper in a chain, under a wrapper of our own or a plain Error.
    expect(classifyRpcError(new Error('send failed', { cause: nodeError(message) }))).toBe(kind);
  });

  it('every row of the table is needed by some provider text above', () => {
    const used = new Set(TEXTS.map(([, message]) => matchRpcErrorText(nodeError(message))));
    const unused = RPC_ERROR_TEXTS.filter((row) => !used.has(row)).map(
      (row) => `${row.provider}: ${row.says}`,
    );
    expect(unused).toEqual([]);
  });

  it('a viem class decides before any text; geth\'s "already known" under NonceTooLowError stays already-known', () => {
    expect(classifyRpcError(new NonceTooLowError({ cause: nodeError('nonce too low') }))).toBe(
      'nonce-too-low',
    );
    // viem's getNodeError files "already known" under NonceTooLowError.
    expect(classifyRpcError(new NonceTooLowError({ cause: nodeError('already known') }))).toBe(
      'already-known',
    );
  });

  it('knows nothing of what no class and no row says', () => {
    expect(classifyRpcError(nodeError('header not found'))).toBeNull();
    expect(classifyRpcError(new Error('boom'))).toBeNull();
    expect(classifyRpcError(undefined)).toBeNull();
  });

  it('a log range is also told by class: a rate limit (-32005) or a timeout', () => {
    const limited = new LimitExceededRpcError(
      new RpcRequestError({ body: {}, error: { code: -32005, message: 'rate limited' }, url: 'http://node' }),
    );
    expect(isLogRangeError(limited)).toBe(true);
    expect(isLogRangeError(new TimeoutError({ body: {}, url: 'http://node' }))).toBe(true);
    expect(isLogRangeError(nodeError('execution reverted'))).toBe(false);
  });

  it('keeps the old predicates: nonce-too-low includes already-known, as the submitter expects', () => {
    expect(isNonceTooLowError(nodeError('already known'))).toBe(true);
    expect(isAlreadyKnownError(nodeError('already known'))).toBe(true);
    expect(isAlreadyKnownError(nodeError('nonce too low'))).toBe(false);
  });
});

/** The same kinds from a real Hardhat node, as viem throws them. */
describe('a real Hardhat node', () => {
  let node: EvmNode;
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
    // Without automine the pool holds transactions, so duplicates and replacements can be tried.
    node = await startEvmNode({ accounts: 2, balance: parseEther('1'), automine: false });
    const client = createPublicClient({ transport: http(node.rpcUrl) });
    const account = privateKeyToAccount(node.accounts[0]!.privateKey);
    const wallet = createWalletClient({ account, transport: http(node.rpcUrl) });
    const mine = () => client.request({ method: 'evm_mine' as never });
    const to = node.accounts[1]!.address;
    const sign = (
      nonce: number,
      o: { fee?: bigint; tip?: bigint; value?: bigint; data?: Hex; create?: boolean } = {},
    ) =>
      account.signTransaction({
        chainId: node.chainId,
        type: 'eip1559',
        nonce,
        ...(o.create ? {} : { to }),
        data: o.data,
        value: o.value ?? (o.create ? 0n : 1n),
        gas: o.create ? 100_000n : 21_000n,
        maxFeePerGas: o.fee ?? parseGwei('10'),
        maxPriorityFeePerGas: o.tip ?? parseGwei('1'),
      });
    const send = (serializedTransaction: Hex) => sendRawTransaction(client, { serializedTransaction });

    const first = await sign(0);
    await send(first);
    await capture('already known', () => send(first));
    await capture('replacement underpriced', async () => send(await sign(0, { value: 2n })));
    await mine();
    await capture('nonce too low (raw)', async () => send(await sign(0, { fee: parseGwei('20') })));
    await capture('nonce too low (sendTransaction)', () =>
      wallet.sendTransaction({ chain: null, to, nonce: 0, gas: 21_000n }),
    );
    await capture('insufficient funds', async () => send(await sign(1, { value: parseEther('5') })));
    // A contract whose every call reverts without data: runtime PUSH1 0 PUSH1 0 REVERT.
    const deploy = await send(await sign(1, { create: true, data: '0x6005600c60003960056000f360006000fd' }));
    await mine();
    const reverter = (await waitForTransactionReceipt(client, { hash: deploy })).contractAddress!;
    const abi = [
      { type: 'function', name: 'f', inputs: [], outputs: [{ type: 'uint256' }], stateMutability: 'view' },
    ] as const;
    await capture('call reverted', () => readContract(client, { address: reverter, abi, functionName: 'f' }));
    await capture('estimate reverted', () =>
      estimateGas(client, { account, to: reverter, data: '0x26121ff0' }),
    );
    // With automine on, Hardhat refuses a nonce gap instead of queueing it.
    await client.request({ method: 'evm_setAutomine' as never, params: [true] as never });
    await capture('nonce too high', async () => send(await sign(9)));
    // Likewise a fee below the next block's base fee (without automine it would wait in the pool).
    await capture('fee too low', async () => send(await sign(2, { fee: 1n, tip: 0n })));
  });

  afterAll(async () => {
    await node?.stop();
  });

  it.each([
    ['already known', 'already-known'],
    ['replacement underpriced', 'replacement-underpriced'],
    ['nonce too low (raw)', 'nonce-too-low'],
    ['nonce too low (sendTransaction)', 'nonce-too-low'],
    ['nonce too high', 'nonce-too-high'],
    ['insufficient funds', 'insufficient-funds'],
    ['fee too low', 'fee-too-low'],
    ['call reverted', 'execution-reverted'],
    ['estimate reverted', 'execution-reverted'],
  ] as const)('%s → %s', (label, kind) => {
    expect(caught[label]).toBeInstanceOf(Error);
    expect(classifyRpcError(caught[label])).toBe(kind);
  });

  it("sendTransaction maps Hardhat's nonce text to viem's NonceTooLowError (the class path)", () => {
    const error = caught['nonce too low (sendTransaction)'] as { walk(fn: (e: unknown) => boolean): unknown };
    expect(error.walk((e) => e instanceof NonceTooLowError)).toBeInstanceOf(NonceTooLowError);
  });
});
