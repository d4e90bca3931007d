import { z } from 'zod';
import { type Hex, fromHex, toHex, utf8 } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import { sealEnvelope } from '../crypto/envelope.js';
import { requestContext } from '../crypto/envelope-context.js';
import { blake2_256 } from '../crypto/hash.js';
import { generateKeyPair } from '../crypto/keys.js';
import { queryAnswerDigest } from '../crypto/proofs.js';
import { recoverPublicKeySubstrate } from '../crypto/signatures.js';
import * as registry from '../phala/actions/registry.js';
import type { PhalaClient } from '../phala/client.js';
import { hex32Schema, hexSchema } from '../protocol/schemas.js';
import { type GetContractTargetErrorType, getContractTarget } from './phala.js';
import { openOutput } from './seal.js';

export class ContractQueryError extends BaseError {
  /** Most are final (a refusal, a bad answer); "does not answer" is worth another try. */
  static override readonly retry: Retry = 'never';
  override name = 'ContractQueryError';
}

const answerSchema = z.object({
  v: z.literal(1),
  contractId: hex32Schema,
  queryId: hex32Schema,
  status: z.enum(['ok', 'contract-error']),
  errorCode: z.string().nullable(),
  sealedOutput: hexSchema,
  gasUsed: z.number(),
  signature: hexSchema,
  worker: z.object({ address: hexSchema, publicKey: hexSchema }),
});

export type QueryContractParameters = {
  /** A worker's HTTP API (`GET /info` tells its cluster). */
  workerUrl: string;
  contractId: Hex;
  input: Uint8Array | string;
  /** The contract's published key; read from the chain when not given. */
  contractPublicKey?: Hex;
  /** Default 30 s. */
  timeoutMs?: number;
};

/**
 * @deprecated Pass the Phala-style client first: `queryContract(phala, { workerUrl, … })`. Without
 * a client, the answering worker is not checked against the chain.
 */
export type DeprecatedQueryContractParameters = QueryContractParameters & { phala?: PhalaClient };

export type QueryContractReturnType = {
  output: Uint8Array;
  gasUsed: number;
  worker: { address: Hex; publicKey: Hex };
};

export type QueryContractErrorType = ContractQueryError | GetContractTargetErrorType | Error;

/**
 * Reads a confidential contract directly through one worker (its `query` entry point on the
 * latest committed state), sealed end to end: the query to the contract's key, the answer to a
 * fresh response key. The answer's signature is checked against the worker that claims it, and
 * that worker's approval for the contract's cluster against the chain.
 */
export function queryContract(
  client: PhalaClient,
  parameters: QueryContractParameters,
): Promise<QueryContractReturnType>;
/** @deprecated Pass the Phala-style client first: `queryContract(phala, { workerUrl, … })`. */
export function queryContract(
  parameters: DeprecatedQueryContractParameters,
): Promise<QueryContractReturnType>;
export function queryContract(
  a: PhalaClient | DeprecatedQueryContractParameters,
  b?: QueryContractParameters,
): Promise<QueryContractReturnType> {
  if (b) return query(a as PhalaClient, b);
  const p = a as DeprecatedQueryContractParameters;
  return query(p.phala, p);
}

async function query(
  phala: PhalaClient | undefined,
  p: QueryContractParameters,
): Promise<QueryContractReturnType> {
  let publicKey = p.contractPublicKey;
  let cluster: Hex | undefined;
  if (phala) {
    const target = await getContractTarget(phala, { contractId: p.contractId });
    publicKey ??= target.publicKey;
    cluster = target.cluster;
  }
  if (!publicKey) throw new ContractQueryError('Pass `contractPublicKey` or a Phala-style client.');
  const responseKey = generateKeyPair('x25519');
  const sealedQuery = sealEnvelope({
    recipientPublicKey: fromHex(publicKey, 'contractPublicKey', 32),
    purpose: 'request',
    context: requestContext(
      'query',
      responseKey.publicKey,
      fromHex(p.contractId, 'contractId', 32),
      responseKey.publicKey,
    ),
    plaintext: typeof p.input === 'string' ? utf8(p.input) : p.input,
  });
  const response = await fetch(new URL('/query', p.workerUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      contractId: p.contractId,
      sealedQuery: toHex(sealedQuery),
      responseKey: toHex(responseKey.publicKey),
    }),
    signal: AbortSignal.timeout(p.timeoutMs ?? 30_000),
  }).catch((error: unknown) => {
    throw new ContractQueryError(`The worker at ${p.workerUrl} does not answer.`, { cause: error });
  });
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const reason = (json as { error?: unknown; detail?: unknown } | null) ?? {};
    throw new ContractQueryError(`The worker refused the query (HTTP ${response.status}).`, {
      details: [reason.error, reason.detail].filter((x) => typeof x === 'string').join(': ') || undefined,
    });
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success)
    throw new ContractQueryError('The worker sent an answer of the wrong shape.', {
      details: parsed.error.message,
    });
  const answer = parsed.data;
  const queryId = blake2_256(sealedQuery);
  if (answer.queryId !== toHex(queryId) || answer.contractId.toLowerCase() !== p.contractId.toLowerCase())
    throw new ContractQueryError('The answer is for another query.');
  const sealedOutput = fromHex(answer.sealedOutput, 'sealedOutput');
  const signer = recoverPublicKeySubstrate(
    queryAnswerDigest(fromHex(p.contractId), queryId, sealedOutput),
    fromHex(answer.signature, 'signature'),
  );
  if (!signer || toHex(signer).toLowerCase() !== answer.worker.publicKey.toLowerCase())
    throw new ContractQueryError('The answer is not signed by the worker that sent it.');
  if (
    phala &&
    cluster &&
    !(await registry.isWorkerApprovedFor(phala, { cluster, worker: answer.worker.publicKey }))
  )
    throw new ContractQueryError(
      `Worker ${answer.worker.publicKey} is not approved for the contract's cluster.`,
    );
  if (answer.status !== 'ok')
    throw new ContractQueryError(`The contract's query failed: ${answer.errorCode ?? 'unknown error'}.`);
  return {
    output: openOutput({
      sealedOutput: answer.sealedOutput,
      responseSecretKey: toHex(responseKey.secretKey),
      requestId: answer.queryId,
    }),
    gasUsed: answer.gasUsed,
    worker: answer.worker,
  };
}
