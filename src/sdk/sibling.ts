import { z } from 'zod';
import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import { type PollTimeoutError, pollUntil } from '../base/poll.js';
import { queryPlain } from '../phala/actions/common.js';
import * as contracts from '../phala/actions/contracts.js';
import { type PhalaClient, submit } from '../phala/client.js';
import type { Signer } from '../phala/submit.js';
import { hexSchema as hex } from '../protocol/schemas.js';
import { encodeInner } from '../xcm/encode.js';
import { siblingAccount } from '../xcm/location.js';
import { type GetContractTargetErrorType, getContractTarget } from './phala.js';
import { createResponseKey, sealInput } from './seal.js';

export class SiblingRequestError extends BaseError {
  /** The sibling chain lacks what the SDK needs. */
  static override readonly retry: Retry = 'never';
  override name = 'SiblingRequestError';
}

export type RequestFromSiblingParameters = {
  /** The Phala-style chain: the contract's key and cluster and the deadline's block come from it. */
  phala: PhalaClient;
  signer: Signer;
  contractId: Hex;
  input: Uint8Array | string;
  /** Most the execution on the Phala-style chain may cost, in its tokens (default 10^12). */
  fee?: bigint;
  /** Phala-style blocks until the request may no longer be fulfilled (default 600). */
  deadlineBlocks?: number;
};

export type RequestFromSiblingReturnType = {
  /** The request's XCM topic on the sibling: the key of its result there. */
  query: Hex;
  txHash: Hex;
  /** The requester as the Phala-style chain sees it: `../Parachain(id)/AccountId32(..)`, SCALE V4. */
  requester: Hex;
  responseSecretKey: Hex;
};

export type RequestFromSiblingErrorType =
  | SiblingRequestError
  | GetContractTargetErrorType
  | SendSiblingRequestErrorType
  | Error;

/** @deprecated Pass the sibling client first: `requestFromSibling(sibling, { phala, … })`. */
export type DeprecatedRequestFromSiblingParameters = Omit<RequestFromSiblingParameters, 'phala'>;

/**
 * Sends a request from an account on a sibling parachain over XCM (`confidentialClient.request`).
 * The contract's key, cluster and the deadline's block come from the Phala-style chain; the input
 * is sealed for the requester's location as the Phala-style chain will record it.
 */
export function requestFromSibling(
  client: PhalaClient,
  parameters: RequestFromSiblingParameters,
): Promise<RequestFromSiblingReturnType>;
/** @deprecated Pass the sibling client first: `requestFromSibling(sibling, { phala, … })`. */
export function requestFromSibling(
  clients: { sibling: PhalaClient; phala: PhalaClient },
  parameters: DeprecatedRequestFromSiblingParameters,
): Promise<RequestFromSiblingReturnType>;
export async function requestFromSibling(
  a: PhalaClient | { sibling: PhalaClient; phala: PhalaClient },
  b: RequestFromSiblingParameters | DeprecatedRequestFromSiblingParameters,
): Promise<RequestFromSiblingReturnType> {
  const [sibling, p] =
    'sibling' in a && !('api' in a)
      ? [a.sibling, { ...b, phala: a.phala }]
      : [a as PhalaClient, b as RequestFromSiblingParameters];
  const { phala } = p;
  const target = await getContractTarget(phala, { contractId: p.contractId });
  const paraId = Number((await sibling.api.query.parachainInfo!.parachainId!()).toString());
  const account = sibling.api.createType('AccountId', p.signer.address).toHex() as Hex;
  const requester = encodeInner('location', 4, siblingAccount(paraId, account));
  const responseKey = createResponseKey();
  const sealedInput = sealInput({
    contractPublicKey: target.publicKey,
    contractId: p.contractId,
    origin: { kind: 'xcm', paraId, location: requester },
    requester,
    responseKey: responseKey.publicKey,
    input: p.input,
  });
  const sent = await sendSiblingRequest(sibling, {
    signer: p.signer,
    contractId: p.contractId,
    cluster: target.cluster,
    sealedInput,
    responseKey: responseKey.publicKey,
    deadline: await contracts.deadlineIn(phala, p.deadlineBlocks ?? 600),
    ...(p.fee === undefined ? {} : { fee: p.fee }),
  });
  return { ...sent, requester, responseSecretKey: responseKey.secretKey };
}

export type SendSiblingRequestParameters = {
  signer: Signer;
  contractId: Hex;
  cluster: Hex;
  /** Sealed for the requester's location as the Phala-style chain records it. */
  sealedInput: Hex;
  responseKey: Hex;
  /** The Phala-style block after which the request may no longer be fulfilled. */
  deadline: number;
  /** Most the execution on the Phala-style chain may cost, in its tokens (default 10^12). */
  fee?: bigint;
};

export type SendSiblingRequestReturnType = { query: Hex; txHash: Hex };
export type SendSiblingRequestErrorType = SiblingRequestError | Error;

/** Submits `confidentialClient.request` with an input already sealed; returns its XCM topic. */
export async function sendSiblingRequest(
  sibling: PhalaClient,
  p: SendSiblingRequestParameters,
): Promise<SendSiblingRequestReturnType> {
  const tx = sibling.api.tx.confidentialClient?.request;
  if (!tx) throw new SiblingRequestError('The sibling chain has no confidentialClient.request call.');
  const result = await submit(
    sibling,
    tx(p.contractId, p.cluster, p.sealedInput, p.responseKey, p.deadline, p.fee ?? 10n ** 12n),
    p.signer,
  );
  const sent = result.events.find((e) => e.section === 'confidentialClient' && e.name === 'RequestSent');
  const query = sent?.fields.query;
  if (typeof query !== 'string')
    throw new SiblingRequestError(`No confidentialClient.RequestSent event in ${result.txHash}.`);
  return { query: query as Hex, txHash: result.txHash };
}

const siblingResultSchema = z.object({
  requestId: hex,
  publicOutput: hex,
  sealedOutput: hex,
  stateRoot: hex,
  worker: hex,
  receivedAt: z.coerce.number(),
});
export type SiblingResult = z.infer<typeof siblingResultSchema>;

export type GetSiblingResultParameters = { query: Hex };
export type GetSiblingResultReturnType = SiblingResult | null;
export type GetSiblingResultErrorType = SiblingRequestError | Error;

/** The checked result of a request held by the sibling's confidentialClient, or null while none. */
export function getSiblingResult(
  sibling: PhalaClient,
  parameters: GetSiblingResultParameters,
): Promise<GetSiblingResultReturnType>;
/** @deprecated Pass parameters: `getSiblingResult(sibling, { query })`. */
export function getSiblingResult(sibling: PhalaClient, query: Hex): Promise<GetSiblingResultReturnType>;
export async function getSiblingResult(
  sibling: PhalaClient,
  p: GetSiblingResultParameters | Hex,
): Promise<GetSiblingResultReturnType> {
  const query = typeof p === 'string' ? p : p.query;
  const results = sibling.api.query.confidentialClient?.results;
  if (!results) throw new SiblingRequestError('The sibling chain has no confidentialClient.results storage.');
  const value = await queryPlain(results as never, query);
  return value === null ? null : siblingResultSchema.parse(value);
}

export type WaitForSiblingResultParameters = {
  /** `requestFromSibling`'s `query`. */
  query: Hex;
  /** Default 180 s. */
  timeoutMs?: number;
};
export type WaitForSiblingResultReturnType = SiblingResult;
export type WaitForSiblingResultErrorType = PollTimeoutError | Error;

/**
 * Waits until the sibling's confidentialClient holds the checked result of a request. (It takes
 * no relayer: the sibling knows the request by its XCM topic, the relayer by the Phala-style
 * request id.)
 */
export function waitForSiblingResult(
  sibling: PhalaClient,
  p: WaitForSiblingResultParameters,
): Promise<WaitForSiblingResultReturnType> {
  return pollUntil(() => getSiblingResult(sibling, { query: p.query }), {
    label: `the result of XCM request ${p.query} on the sibling`,
    timeoutMs: p.timeoutMs ?? 180_000,
  });
}
