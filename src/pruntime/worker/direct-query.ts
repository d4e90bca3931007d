import { z } from 'zod';
import { type Hex, fromHex, toHex } from '../../base/bytes.js';
import { BaseError, InvalidInputError, type Retry, retryOfHttpStatus } from '../../base/errors.js';
import { hex32Schema, hexSchema } from '../../protocol/schemas.js';
import type { Enclave } from '../enclave/enclave.js';
import { EnclaveRefusalError } from '../enclave/executor.js';
import type { ChainReader } from './chain-reader.js';
import { RequestRejectedError } from './errors.js';

/**
 * Direct confidential queries (`POST /query`, docs/pruntime-worker.md#query): the client seals its
 * query to the contract's key (`requestContext('query', responseKey, contractId, responseKey)`,
 * src/sdk) and names a response key; the worker runs the contract's `query` on its current
 * committed state and returns the answer sealed to that key, signed. The host side (this
 * process outside the enclave, any proxy) sees only envelopes.
 */
export const queryBodySchema = z.strictObject({
  contractId: hex32Schema,
  sealedQuery: hexSchema.refine((v) => v.length > 2, 'a non-empty envelope'),
  responseKey: hex32Schema,
});
export type QueryBody = z.infer<typeof queryBodySchema>;

export type QueryResponse = {
  v: 1;
  contractId: Hex;
  /** blake2_256(sealedQuery): the answer envelope's context and `ctx.requestId`. */
  queryId: Hex;
  status: 'ok' | 'contract-error';
  errorCode: string | null;
  sealedOutput: Hex;
  gasUsed: number;
  /** Substrate-style signature over blake2_256(SCALE("phala-bridge/query/v1", contractId, queryId, blake2_256(sealedOutput))). */
  signature: Hex;
  worker: { address: Hex; publicKey: Hex };
};

/** A query the worker will not answer, with the HTTP status that says why. */
export class QueryError extends BaseError {
  /** As its HTTP status says: 429 and 503 are "not now", other 4xx "not this query". */
  static override readonly retry: Retry = 'never';
  override name = 'QueryError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail: string) {
    super(`${code}: ${detail}`, {
      docsPath: '/docs/pruntime-worker.md#http-api',
      retry: retryOfHttpStatus(status),
    });
    this.status = status;
    this.code = code;
  }
}

export async function runDirectQuery(
  p: { enclave: Enclave; chain: ChainReader; cluster: Hex; serving: boolean },
  body: QueryBody,
): Promise<QueryResponse> {
  if (!p.serving) throw new QueryError(503, 'not-serving', 'this worker is not approved at the moment');
  const contract = await p.chain.contract(body.contractId);
  if (!contract) throw new QueryError(404, 'unknown-contract', `no contract ${body.contractId} on the chain`);
  if (contract.cluster.toLowerCase() !== p.cluster.toLowerCase())
    throw new QueryError(404, 'wrong-cluster', `contract ${body.contractId} is in another cluster`);
  if (!p.enclave.hasContractKey(body.contractId))
    throw new QueryError(409, 'no-contract-key', `this worker holds no key of ${body.contractId}`);
  let code: string | Uint8Array | null;
  try {
    code = await p.chain.code(contract.codeHash);
  } catch (error) {
    if (error instanceof RequestRejectedError) throw new QueryError(422, error.reason, error.shortMessage);
    throw error;
  }
  if (code === null) throw new QueryError(404, 'unknown-code', `no code ${contract.codeHash} on the chain`);
  const state = await p.chain.state(body.contractId);
  try {
    const answer = await p.enclave.query({
      contractId: body.contractId,
      code,
      codeHash: contract.codeHash,
      sealedQuery: fromHex(body.sealedQuery, 'sealedQuery'),
      responseKey: fromHex(body.responseKey, 'responseKey', 32),
      state,
    });
    const identity = p.enclave.publicIdentity;
    return {
      v: 1,
      contractId: body.contractId.toLowerCase() as Hex,
      queryId: answer.queryId,
      status: answer.status,
      errorCode: answer.errorCode,
      sealedOutput: toHex(answer.sealedOutput),
      gasUsed: answer.gasUsed,
      signature: answer.signature,
      worker: { address: identity.address, publicKey: identity.secp256k1 },
    };
  } catch (error) {
    if (error instanceof EnclaveRefusalError) {
      if (error.reason === 'input-unreadable')
        throw new QueryError(422, 'query-unreadable', 'no key of the contract opens the sealed query');
      if (error.reason === 'no-contract-key')
        throw new QueryError(409, 'no-contract-key', error.details ?? '');
    }
    if (error instanceof InvalidInputError) throw new QueryError(400, 'bad-request', error.shortMessage);
    throw error;
  }
}
