/**
 * Records the tapes under test/tapes/ from real devnet runs, each request awaited before the next:
 *   evm, phala, xcm: greeter requests from EVM accounts, Phala-style accounts and sibling accounts;
 *   auction: a sealed-bid auction (open-auction.js, written here) fed by EVM and XCM bidders in
 *            turn, with an early settle by someone who is not the auctioneer, then the settlement;
 *   consumer: requests made by the Solidity examples (PrivateCheck checks, SealedBidAuction bids)
 *            for EVM accounts: replay sends the accounts' transactions to those contracts again;
 *   wasm:    the WebAssembly examples: wasm-greeter asked from an EVM account, a Phala-style account
 *            and a sibling account (its sealed count carried across them), then wasm-hash-chain.
 * Each flow is recorded on its own fresh devnet, started as `phala-bridge replay` starts one for
 * its tape (the default seed; the auction's with open-auction.js deployed): a tape is then the
 * whole recording of a fresh chain and replays alone (docs/testing.md). One recording split into
 * flows would not: Phala-style and XCM requests take their nonce from one counter on the Phala
 * chain, so a flow recorded after another starts at that one's nonce and replays with other ids.
 * What landed is the golden tape. A replay gives EVM requests new ids (their nonce is the block
 * they are mined in), so goldens are compared by place, and a flow whose public outputs named an
 * EVM request id would not replay.
 * Run: node --import tsx scripts/record-tapes.ts [out-dir] [--flows=evm,consumer]
 * `--flows` records only the flows named (evm, phala, xcm, auction, consumer, wasm) and leaves the other
 * tapes as they are.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type Hex,
  decodeAbiParameters,
  encodeAbiParameters,
  encodeFunctionData,
  getContractAddress,
} from 'viem';
import { pollUntil } from '../src/base/poll.js';
import { devnetClients } from '../src/devnet/evm/clients.js';
import { devAccounts } from '../src/devnet/evm/node.js';
import { auctionContract } from '../src/devnet/orchestrator/contracts.js';
import { decodeGatewayLog } from '../src/evm/gateway/events.js';
import { devSigner } from '../src/phala/signers.js';
import { type TapeEntry, TapeWriter, readTape } from '../src/protocol/tape.js';
import { evmLogOf, phalaEventOf } from '../src/relayer/tape/entries.js';
import { privateCheckAbi } from '../src/evm/artifacts/PrivateCheck.js';
import { sealedBidAuctionAbi } from '../src/evm/artifacts/SealedBidAuction.js';
import { requestFromEvm, sealInputForEvm } from '../src/sdk/evm.js';
import { requestFromPhala } from '../src/sdk/phala.js';
import { requestFromSibling } from '../src/sdk/sibling.js';
import { type Devnet, expectFulfilled, startDevnet } from '../src/testing/index.js';
import { type RequestRef, fulfilmentEntry } from '../src/testing/outcomes.js';

const args = process.argv.slice(2);
const out = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'test/tapes');
const flowsArg = args.find((a) => a.startsWith('--flows='));
const only = flowsArg ? new Set(flowsArg.slice('--flows='.length).split(',')) : null;
const wanted = (flow: string) => only === null || only.has(flow);
// The auctioneer is EVM account 2 through the devnet's gateway: the gateway is account 0's first
// contract on every fresh devnet, so the auction's code (and contract id) is the same each time.
const accounts = devAccounts();
const gateway = getContractAddress({ from: accounts[0]!.address, nonce: 0n });
const auctioneer = accounts[2]!;
// The file replays deploy, as it is written here (a header changes the code hash too).
const auctionFile = `// Written by scripts/record-tapes.ts: examples/contracts/sealed-bid-auction.js with its settings
// (any bidder; EVM account 2 of the devnet settles). Replaying auction.ndjson needs it deployed.
${auctionContract({
  auctioneer: { kind: 'evm', chainId: 31337, gateway, requester: auctioneer.address },
  bidders: 'any',
})}`;
if (wanted('auction')) writeFileSync(path.join(out, 'open-auction.js'), auctionFile);

const abiBytes = (types: string[], values: unknown[]) =>
  new Uint8Array(
    Buffer.from(
      encodeAbiParameters(
        types.map((type) => ({ type })),
        values as never,
      ).slice(2),
      'hex',
    ),
  );
const BID = (amount: bigint) => abiBytes(['uint8', 'uint256'], [1, amount]);
const SETTLE = abiBytes(['uint8'], [2]);

type Landed = (ref: RequestRef) => Promise<void>;
type Flow = (devnet: Devnet, landed: Landed) => Promise<void>;
const flows: Record<string, Flow> = {
  evm: evmFlow,
  phala: phalaFlow,
  xcm: xcmFlow,
  auction: auctionFlow,
  consumer: consumerFlow,
  wasm: wasmFlow,
};
for (const [flow, run] of Object.entries(flows)) if (wanted(flow)) await record(flow, run);
process.exit(0);

/**
 * One flow on a fresh devnet of its own, the one `phala-bridge replay` starts for its tape: what
 * the relayer recorded is the tape, what landed is the golden tape.
 */
async function record(flow: string, run: Flow) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `record-tapes-${flow}-`));
  const recording = path.join(dir, 'recorded.ndjson');
  const devnet = await startDevnet({
    recordTape: recording,
    ...(flow === 'auction' ? { contracts: { 'open-auction': auctionFile } } : {}),
    onProgress: (l) => console.log(`${flow}: ${l}`),
  });
  try {
    if (devnet.chains.evm.gateway.toLowerCase() !== gateway.toLowerCase())
      throw new Error(`the gateway is at ${devnet.chains.evm.gateway}, not ${gateway}`);
    const golden: TapeEntry[] = [];
    await run(devnet, async (ref) => {
      golden.push((await fulfilmentEntry(devnet, ref))!);
    });
    // The recorder buffers its writes: every request was queued (so recorded) before it was answered.
    const inputs = await pollUntil(
      async () => {
        const recorded = readTape(recording);
        return recorded.length >= golden.length ? recorded : null;
      },
      { label: `the ${flow} recording`, timeoutMs: 15_000 },
    );
    if (inputs.length !== golden.length)
      throw new Error(`${flow}: ${inputs.length} requests recorded, ${golden.length} landed`);
    const flowOf = flowClassifier(devnet);
    for (const e of inputs)
      if (flowOf(e) !== flow) throw new Error(`${flow}: a ${flowOf(e)} request was recorded too`);
    const write = async (file: string, entries: TapeEntry[]) => {
      const writer = new TapeWriter(path.join(out, file));
      for (const e of entries) writer.write(e);
      await writer.close();
    };
    await write(`${flow}.ndjson`, inputs);
    await write(`${flow}.golden.ndjson`, golden);
    console.log(`${flow}: ${inputs.length} requests`);
  } finally {
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function evmFlow(devnet: Devnet, landed: Landed) {
  const greeter = devnet.contracts.greeter!.contractId;
  const evm = devnetClients(devnet.chains.evm, auctioneer.privateKey);
  for (const name of ['evm-ada', 'evm-grace']) {
    const sent = await requestFromEvm({
      sender: evm.walletClient,
      publicClient: evm.publicClient,
      gateway: devnet.chains.evm.gateway,
      contractId: greeter,
      input: name,
    });
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!` });
    await landed({ kind: 'evm', requestId: sent.requestId });
  }
}

async function phalaFlow(devnet: Devnet, landed: Landed) {
  const greeter = devnet.contracts.greeter!.contractId;
  for (const [who, name] of [
    ['Dave', 'phala-dave'],
    ['Eve', 'phala-eve'],
  ] as const) {
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner(who),
      contractId: greeter,
      input: name,
    });
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!` });
    await landed({ kind: 'phala', requestId: sent.requestId });
  }
}

async function xcmFlow(devnet: Devnet, landed: Landed) {
  const greeter = devnet.contracts.greeter!.contractId;
  for (const [who, name] of [
    ['Dave', 'xcm-dave'],
    ['Ferdie', 'xcm-ferdie'],
  ] as const) {
    const sent = await requestFromSibling(
      { sibling: devnet.sibling, phala: devnet.phala },
      { signer: await devSigner(who), contractId: greeter, input: name },
    );
    await expectFulfilled(devnet, sent, { publicOutput: `hello, ${name}!`, timeoutMs: 180_000 });
    await landed({ kind: 'xcm', query: sent.query });
  }
}

/** Bids from EVM accounts and sibling accounts in turn; the state carries across origins. */
async function auctionFlow(devnet: Devnet, landed: Landed) {
  const contractId = devnet.contracts['open-auction']!.contractId;
  const fromEvm = async (index: number, input: Uint8Array) => {
    const { walletClient, publicClient } = devnetClients(
      devnet.chains.evm,
      devnet.chains.evm.accounts[index]!.privateKey,
    );
    const sent = await requestFromEvm({
      sender: walletClient,
      publicClient,
      gateway: devnet.chains.evm.gateway,
      contractId,
      input,
    });
    const done = await expectFulfilled(devnet, sent);
    await landed({ kind: 'evm', requestId: sent.requestId });
    return done;
  };
  const fromSibling = async (who: 'Dave' | 'Ferdie', input: Uint8Array) => {
    const sent = await requestFromSibling(
      { sibling: devnet.sibling, phala: devnet.phala },
      { signer: await devSigner(who), contractId, input },
    );
    const done = await expectFulfilled(devnet, sent, { timeoutMs: 180_000 });
    await landed({ kind: 'xcm', query: sent.query });
    return done;
  };
  await fromEvm(3, BID(500n));
  const dave = await fromSibling('Dave', BID(700n));
  const early = await fromEvm(4, SETTLE);
  if (!/^[A-Za-z]+$/.test(early.publicText)) throw new Error(`an early settle answered ${early.publicText}`);
  await fromEvm(5, BID(650n));
  await fromSibling('Ferdie', BID(0n));
  const settled = await fromEvm(2, SETTLE);
  const [, winner, price] = decodeAbiParameters(
    [{ type: 'uint8' }, { type: 'bytes32' }, { type: 'uint256' }],
    settled.publicOutput,
  );
  // The winner is the XCM bid: its id (the Phala chain's nonce) replays the same; an EVM bid's would not.
  if (winner !== dave.requestId || price !== 650n)
    throw new Error(`settled for ${winner} at ${price}: expected Dave's bid ${dave.requestId} at 650`);
}

/** Requests made by consumer contracts: the tape keeps each account's transaction to them. */
async function consumerFlow(devnet: Devnet, landed: Landed) {
  const { privateCheck, sealedBidAuction } = devnet.examples!;
  const consumers = {
    check: {
      address: privateCheck,
      contract: 'private-check',
      value: 0n,
      data: (args: [Hex, Hex]) => encodeFunctionData({ abi: privateCheckAbi, functionName: 'check', args }),
    },
    bid: {
      address: sealedBidAuction,
      contract: 'sealed-bid-auction',
      value: 1_000n,
      data: (args: [Hex, Hex]) => encodeFunctionData({ abi: sealedBidAuctionAbi, functionName: 'bid', args }),
    },
  } as const;
  const send = async (index: number, functionName: keyof typeof consumers, input: Uint8Array | string) => {
    const consumer = consumers[functionName];
    const { publicClient, walletClient } = devnetClients(
      devnet.chains.evm,
      devnet.chains.evm.accounts[index]!.privateKey,
    );
    const sealed = await sealInputForEvm({
      publicClient,
      gateway: devnet.chains.evm.gateway,
      contractId: devnet.contracts[consumer.contract]!.contractId,
      requester: consumer.address,
      endUser: walletClient.account.address,
      input,
    });
    const hash = await walletClient.sendTransaction({
      to: consumer.address,
      data: consumer.data([sealed.sealedInput, sealed.responseKey.publicKey]),
      value: consumer.value,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const sent = receipt.logs
      .map((log) => decodeGatewayLog(log, devnet.chains.evm.chainId))
      .find((e) => e?.kind === 'RequestSent') as { requestId: Hex } | undefined;
    if (!sent) throw new Error(`no request from ${consumer.address} in ${receipt.transactionHash}`);
    await expectFulfilled(devnet, { kind: 'evm', requestId: sent.requestId });
    await landed({ kind: 'evm', requestId: sent.requestId });
  };
  await send(6, 'check', JSON.stringify({ score: 700 }));
  await send(7, 'bid', BID(300n));
  await send(8, 'check', JSON.stringify({ score: 600 }));
  await send(9, 'bid', BID(200n));
}

/**
 * WebAssembly contracts from every origin, each answer deterministic: the greeter's (its count
 * sealed), then a hash chain of 1,000 SHA-256 rounds whose head is public.
 */
async function wasmFlow(devnet: Devnet, landed: Landed) {
  const greeter = devnet.contracts['wasm-greeter']!.contractId;
  const evm = devnetClients(devnet.chains.evm, devnet.chains.evm.accounts[3]!.privateKey);
  const fromEvm = await requestFromEvm({
    sender: evm.walletClient,
    publicClient: evm.publicClient,
    gateway: devnet.chains.evm.gateway,
    contractId: greeter,
    input: 'wasm-evm',
  });
  await expectFulfilled(devnet, fromEvm, { publicOutput: 'hello, wasm-evm!' });
  await landed({ kind: 'evm', requestId: fromEvm.requestId });
  const fromPhala = await requestFromPhala(devnet.phala, {
    signer: await devSigner('Dave'),
    contractId: greeter,
    input: 'wasm-phala',
  });
  await expectFulfilled(devnet, fromPhala, { publicOutput: 'hello, wasm-phala!' });
  await landed({ kind: 'phala', requestId: fromPhala.requestId });
  const fromSibling = await requestFromSibling(
    { sibling: devnet.sibling, phala: devnet.phala },
    { signer: await devSigner('Ferdie'), contractId: greeter, input: 'wasm-xcm' },
  );
  await expectFulfilled(devnet, fromSibling, { publicOutput: 'hello, wasm-xcm!', timeoutMs: 180_000 });
  await landed({ kind: 'xcm', query: fromSibling.query });
  const chain = await requestFromPhala(devnet.phala, {
    signer: await devSigner('Eve'),
    contractId: devnet.contracts['wasm-hash-chain']!.contractId,
    input: abiBytes(['uint256', 'bytes32'], [1_000n, `0x${'42'.repeat(32)}`]),
  });
  const head = await expectFulfilled(devnet, chain);
  const [, rounds] = decodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], head.publicOutput);
  if (rounds !== 1_000n) throw new Error(`the hash chain answered ${head.publicText}`);
  await landed({ kind: 'phala', requestId: chain.requestId });
}

/** Which flow a recorded request belongs to: the auction's or a WebAssembly contract, or the greeter by origin. */
function flowClassifier(devnet: Devnet) {
  const auction = devnet.contracts['open-auction']?.contractId.toLowerCase();
  const wasm = new Set(
    ['wasm-greeter', 'wasm-auction', 'wasm-hash-chain'].map((n) =>
      devnet.contracts[n]?.contractId.toLowerCase(),
    ),
  );
  return (entry: TapeEntry): string => {
    const contractId: Hex =
      entry.kind === 'evm.log'
        ? (decodeGatewayLog(evmLogOf(entry), devnet.chains.evm.chainId) as { contractId: Hex }).contractId
        : (phalaEventOf(devnet.phala.api, entry) as { contractId: Hex }).contractId;
    if (contractId.toLowerCase() === auction) return 'auction';
    if (wasm.has(contractId.toLowerCase())) return 'wasm';
    const to = entry.transaction?.to?.toLowerCase();
    if (entry.kind === 'evm.log' && to && to !== devnet.chains.evm.gateway.toLowerCase()) return 'consumer';
    return entry.kind === 'evm.log' ? 'evm' : entry.kind === 'substrate.event' ? 'phala' : 'xcm';
  };
}
