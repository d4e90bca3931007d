import type { Hex } from 'viem';
import { type Hex as BytesHex, fromHex, toHex, utf8 } from '../base/bytes.js';
import { BaseError, errorMessage, type Retry } from '../base/errors.js';
import { PollTimeoutError } from '../base/poll.js';
import type { Devnet } from '../devnet/orchestrator/devnet.js';
import { openOutput } from '../sdk/seal.js';
import { type RequestRef, outcomeOf, waitForFulfilmentEntry } from './outcomes.js';

/**
 * Waits until a request is fulfilled on its origin chain and returns (and optionally checks) its
 * public output. Plain throws, so it works under any test runner.
 */

export class NotFulfilledError extends BaseError {
  /** It may still be fulfilled. */
  static override readonly retry: Retry = 'retry';
  override name = 'NotFulfilledError';
}

export class UnexpectedOutputError extends BaseError {
  static override readonly retry: Retry = 'never';
  override name = 'UnexpectedOutputError';
}

/** A request as the SDK's senders return it, or by id. */
export type FulfilledTarget =
  | RequestRef
  /** requestFromEvm's result. */
  | { requestId: Hex; publicClient: unknown; blockNumber?: bigint }
  /** requestFromPhala's result. */
  | { requestId: Hex; txHash: Hex }
  /** requestFromSibling's result. */
  | { query: Hex };

export type ExpectFulfilledOptions = {
  timeoutMs?: number;
  /** The public output it must have: text (compared as UTF-8) or 0x-hex bytes. */
  publicOutput?: string;
  /** Opens the sealed output with this response secret key (the SDK senders return it). */
  responseSecretKey?: Hex;
};

export type Fulfilled = {
  requestId: Hex;
  publicOutput: Hex;
  /** The public output as UTF-8 text. */
  publicText: string;
  sealedOutput: Hex;
  /** The opened sealed output, with `responseSecretKey`. */
  sealed?: Uint8Array;
};

function refOf(target: FulfilledTarget): RequestRef {
  if ('kind' in target) return target;
  if ('query' in target) return { kind: 'xcm', query: target.query };
  if ('publicClient' in target)
    return {
      kind: 'evm',
      requestId: target.requestId,
      ...(target.blockNumber === undefined ? {} : { fromBlock: target.blockNumber }),
    };
  return { kind: 'phala', requestId: target.requestId };
}

export async function expectFulfilled(
  devnet: Devnet,
  target: FulfilledTarget,
  options: ExpectFulfilledOptions = {},
): Promise<Fulfilled> {
  const ref = refOf(target);
  let entry: Awaited<ReturnType<typeof waitForFulfilmentEntry>>;
  try {
    entry = await waitForFulfilmentEntry(devnet, ref, options.timeoutMs ?? 120_000);
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    throw new NotFulfilledError(`${describe(ref)} was not fulfilled in time.`, {
      details: await journeyText(devnet, ref),
      docsPath: '/docs/testing.md#expectfulfilled',
    });
  }
  const outcome = outcomeOf(entry, devnet);
  const sealedOutput = outcome.sealedOutput;
  const publicText = new TextDecoder().decode(fromHex(outcome.publicOutput as BytesHex));
  if (options.publicOutput !== undefined) {
    const expected = /^0x([0-9a-fA-F]{2})*$/.test(options.publicOutput)
      ? options.publicOutput.toLowerCase()
      : toHex(utf8(options.publicOutput));
    if (expected !== outcome.publicOutput.toLowerCase())
      throw new UnexpectedOutputError(`${describe(ref)} answered something else.`, {
        details: `public output ${JSON.stringify(publicText)} (${outcome.publicOutput}), expected ${JSON.stringify(options.publicOutput)}`,
      });
  }
  return {
    requestId: outcome.requestId,
    publicOutput: outcome.publicOutput,
    publicText,
    sealedOutput,
    ...(options.responseSecretKey
      ? {
          sealed: openOutput({
            sealedOutput,
            responseSecretKey: options.responseSecretKey,
            requestId: outcome.requestId,
          }),
        }
      : {}),
  };
}

function describe(ref: RequestRef): string {
  return ref.kind === 'xcm' ? `XCM request (query ${ref.query})` : `${ref.kind} request ${ref.requestId}`;
}

/** The relayer's record of the request (admin API `GET /jobs/:id`), for the error. */
async function journeyText(devnet: Devnet, ref: RequestRef): Promise<string> {
  const base = devnet.relayer.admin.url;
  const headers = { authorization: `Bearer ${devnet.relayer.admin.token}` };
  try {
    let jobIds: string[];
    if (ref.kind === 'xcm') {
      // The sibling knows the query id, the relayer the Phala request id: show its XCM requests.
      const list = (await (
        await fetch(`${base}/jobs?origin=xcm-${devnet.chains.sibling.paraId}`, { headers })
      ).json()) as {
        jobId: string;
      }[];
      jobIds = list.map((j) => j.jobId);
      if (jobIds.length === 0) return 'the relayer has no XCM request at all (was it sent?)';
    } else {
      const origin = ref.kind === 'evm' ? `evm-${devnet.chains.evm.chainId}` : 'phala';
      jobIds = [`${origin}-${ref.requestId.toLowerCase()}`];
    }
    const journeys = await Promise.all(
      jobIds.map(async (id) => {
        const response = await fetch(`${base}/jobs/${id}`, { headers });
        if (response.status === 404) return `${id}: the relayer never saw this request`;
        return `${id}: ${JSON.stringify(await response.json(), null, 2)}`;
      }),
    );
    return `relayer journey:\n${journeys.join('\n')}`;
  } catch (error) {
    return `could not read the relayer's journey: ${errorMessage(error)}`;
  }
}
