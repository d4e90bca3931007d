import { type Hex, createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { fromHex } from '../base/bytes.js';
import { pollUntil } from '../base/poll.js';
import type { Devnet } from '../devnet/orchestrator/devnet.js';
import { devSigner } from '../phala/signers.js';
import { requestJobId } from '../protocol/origin.js';
import { type JobJourney, formatJourney, getJourney } from '../relayer/admin-client.js';
import { terminalStages } from '../relayer/journey.js';
import { requestFromEvm, waitForEvmResult } from '../sdk/evm.js';
import { requestFromPhala, waitForPhalaResult } from '../sdk/phala.js';
import { openOutput } from '../sdk/seal.js';
import { requestFromSibling, waitForSiblingResult } from '../sdk/sibling.js';

export type DemoOutcome = {
  origin: 'evm' | 'phala' | 'xcm';
  /** The devnet contract asked: `greeter` (JavaScript) or `wasm-greeter` (WebAssembly). */
  contract: 'greeter' | 'wasm-greeter';
  jobId: string;
  input: string;
  publicOutput: string;
  /** The sealed output, opened with the requester's response key. */
  openedOutput: string;
  journey: JobJourney;
};

const decoder = new TextDecoder();
const text = (bytes: Hex | Uint8Array) => decoder.decode(typeof bytes === 'string' ? fromHex(bytes) : bytes);

/**
 * One request to the greeter from each origin — a Solidity-side EOA through the gateway, a
 * Substrate account on the Phala-style chain, an account on the sibling parachain over XCM — each
 * awaited on its own chain, its sealed answer opened, and its journey read from the relayer.
 */
export async function runDemo(devnet: Devnet, timeoutMs = 120_000): Promise<DemoOutcome[]> {
  const contractId = devnet.contracts.greeter.contractId;
  const { evm } = devnet.chains;
  const publicClient = createPublicClient({ transport: http(evm.rpcUrl) });

  const viaEvm = async (): Promise<Omit<DemoOutcome, 'journey'>> => {
    const input = 'Solidity';
    const account = privateKeyToAccount(evm.accounts[3]!.privateKey);
    const sender = createWalletClient({ account, transport: http(evm.rpcUrl) });
    const sent = await requestFromEvm(sender, { publicClient, gateway: evm.gateway, contractId, input });
    const result = await waitForEvmResult(publicClient, {
      gateway: evm.gateway,
      requestId: sent.requestId,
      fromBlock: sent.blockNumber,
      timeoutMs,
    });
    return {
      origin: 'evm',
      contract: 'greeter',
      jobId: requestJobId({ kind: 'evm', chainId: evm.chainId, gateway: evm.gateway }, sent.requestId),
      input,
      publicOutput: text(result.publicOutput),
      openedOutput: text(
        openOutput({ ...result, responseSecretKey: sent.responseSecretKey, requestId: sent.requestId }),
      ),
    };
  };

  const viaPhala = () => phalaRequest(devnet, 'greeter', 'Substrate', timeoutMs);

  const viaXcm = async (): Promise<Omit<DemoOutcome, 'journey'>> => {
    const input = 'XCM';
    const sent = await requestFromSibling(devnet.sibling, {
      phala: devnet.phala,
      signer: await devSigner('Alice', 42),
      contractId,
      input,
    });
    const result = await waitForSiblingResult(devnet.sibling, { query: sent.query, timeoutMs });
    return {
      origin: 'xcm',
      contract: 'greeter',
      jobId: requestJobId(
        { kind: 'xcm', paraId: devnet.chains.sibling.paraId, location: sent.requester },
        result.requestId,
      ),
      input,
      publicOutput: text(result.publicOutput),
      openedOutput: text(
        openOutput({ ...result, responseSecretKey: sent.responseSecretKey, requestId: result.requestId }),
      ),
    };
  };

  // Sequential, so the greeter's sealed counter reads 1, 2, 3 in the order printed.
  const outcomes: DemoOutcome[] = [];
  for (const run of [viaEvm, viaPhala, viaXcm])
    outcomes.push(await withJourney(devnet, await run(), timeoutMs));
  return outcomes;
}

/**
 * One request to the WebAssembly greeter (`wasm-greeter`, examples/wasm/greeter.ts compiled), from a
 * Phala-style account: the same envelopes, proofs and sealed state as the JavaScript greeter's.
 */
export async function runWasmDemo(devnet: Devnet, timeoutMs = 120_000): Promise<DemoOutcome> {
  return withJourney(devnet, await phalaRequest(devnet, 'wasm-greeter', 'WebAssembly', timeoutMs), timeoutMs);
}

async function withJourney(
  devnet: Devnet,
  outcome: Omit<DemoOutcome, 'journey'>,
  timeoutMs: number,
): Promise<DemoOutcome> {
  const journey = await pollUntil(
    async () => {
      const j = await getJourney(devnet.relayer.admin, outcome.jobId);
      return j && terminalStages.has(j.state) ? j : null;
    },
    { label: `the end of ${outcome.jobId}'s journey`, timeoutMs },
  );
  return { ...outcome, journey };
}

async function phalaRequest(
  devnet: Devnet,
  contract: DemoOutcome['contract'],
  input: string,
  timeoutMs: number,
): Promise<Omit<DemoOutcome, 'journey'>> {
  const sent = await requestFromPhala(devnet.phala, {
    signer: await devSigner('Dave', 30),
    contractId: devnet.contracts[contract].contractId,
    input,
  });
  const result = await waitForPhalaResult(devnet.phala, { requestId: sent.requestId, timeoutMs });
  return {
    origin: 'phala',
    contract,
    jobId: requestJobId({ kind: 'phala', genesisHash: devnet.chains.phala.genesisHash }, sent.requestId),
    input,
    publicOutput: text(result.publicOutput as Hex),
    openedOutput: text(
      openOutput({
        sealedOutput: result.sealedOutput as Hex,
        responseSecretKey: sent.responseSecretKey,
        requestId: sent.requestId,
      }),
    ),
  };
}

export function formatDemoOutcome(o: DemoOutcome): string[] {
  const from = { evm: 'Solidity (EVM gateway)', phala: 'Phala-style extrinsic', xcm: 'XCM from the sibling' }[
    o.origin
  ];
  const what = o.contract === 'wasm-greeter' ? ' — a WebAssembly contract (examples/wasm/greeter.ts)' : '';
  return [
    `● ${from}: ${o.contract}("${o.input}")${what}`,
    `  public: ${o.publicOutput}`,
    `  sealed, opened with the response key: ${o.openedOutput}`,
    ...formatJourney(o.journey).map((l) => `  ${l}`),
  ];
}
