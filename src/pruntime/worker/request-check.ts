import { type Hex, concatBytes, fromHex, toHex } from '../../base/bytes.js';
import { keccak256 } from '../../crypto/hash.js';
import { computeRequestId } from '../../evm/request-id.js';
import { requestIdOf } from '../../phala/ids.js';
import { requestJobId } from '../../protocol/origin.js';
import { type RequestJob, endUserOf, requestJobSchema } from '../../protocol/request-job.js';
import type { ProofTarget } from '../enclave/executor.js';
import { RequestRejectedError } from './errors.js';

/**
 * The checks a worker makes on a queued request before anything touches the enclave
 * (docs/pruntime-worker.md#what-a-worker-checks). The relayer that queued it is untrusted: the
 * payload must fit the schema, its request id must be the one the origin chain computes from
 * its fields, it must be for this worker's cluster and for an origin this worker answers, and its
 * deadline must not have passed. A request that fails is refused for good and never signed.
 */

export type RequestCheckContext = {
  /** This worker's cluster. */
  cluster: Hex;
  /** Genesis hash of the Phala-style chain the worker is registered on. */
  phalaGenesisHash: Hex;
  /**
   * Index of the `Xcm` variant of the chain's `RequestOrigin` (read from its metadata), or null
   * when the chain takes no XCM requests.
   */
  xcmOriginIndex: number | null;
  /** EVM gateways this deployment serves; null accepts any (the proof binds chain and gateway). */
  evmGateways: readonly { chainId: number; gateway: Hex }[] | null;
};

/** Validates a queue payload against the request schema; the first issue is the reason. */
export function parseRequestJob(data: unknown): RequestJob {
  const parsed = requestJobSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new RequestRejectedError('bad-payload', `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/** The request id the origin chain computes from the request's fields (PROTOCOL §1). */
export function expectedRequestId(request: RequestJob, context: RequestCheckContext): Hex {
  const sealedInput = fromHex(request.sealedInput, 'sealedInput');
  const requester = fromHex(request.requester, 'requester');
  const nonce = BigInt(request.nonce);
  const contractId = fromHex(request.contractId, 'contractId', 32);
  // Only an EVM consumer acts for someone else; elsewhere the end user is the requester itself.
  if (request.origin.kind !== 'evm' && endUserOf(request) !== request.requester.toLowerCase())
    throw new RequestRejectedError(
      'bad-payload',
      'endUser: only an EVM request names an end user of its own',
    );
  switch (request.origin.kind) {
    case 'evm': {
      if (requester.length !== 20)
        throw new RequestRejectedError('bad-payload', 'requester: an EVM requester is a 20-byte address');
      if (fromHex(endUserOf(request), 'endUser').length !== 20)
        throw new RequestRejectedError('bad-payload', 'endUser: an EVM end user is a 20-byte address');
      if (nonce >= 1n << 64n) throw new RequestRejectedError('bad-payload', 'nonce: not a uint64');
      // The id covers the end user and the response key: neither can be swapped by the relayer.
      return computeRequestId({
        chainId: request.origin.chainId,
        gateway: request.origin.gateway,
        nonce,
        requester: request.requester,
        endUser: endUserOf(request),
        contractId: request.contractId,
        responseKey: request.responseKey,
        sealedInputHash: toHex(keccak256(sealedInput)),
      });
    }
    case 'phala': {
      if (requester.length !== 32)
        throw new RequestRejectedError('bad-payload', 'requester: a Phala requester is a 32-byte account id');
      if (nonce >= 1n << 64n) throw new RequestRejectedError('bad-payload', 'nonce: not a u64');
      return toHex(requestIdOf({ kind: 'signed', account: requester }, nonce, contractId, sealedInput));
    }
    case 'xcm': {
      if (context.xcmOriginIndex === null)
        throw new RequestRejectedError('unsupported-origin', 'the chain takes no requests from XCM origins');
      if (requester.length === 0)
        throw new RequestRejectedError('bad-payload', 'requester: an XCM requester is a SCALE location');
      if (nonce >= 1n << 64n) throw new RequestRejectedError('bad-payload', 'nonce: not a u64');
      // RequestOrigin::Xcm(location) = variant index ‖ SCALE(location); `requester` is that location.
      const origin = concatBytes(Uint8Array.of(context.xcmOriginIndex), requester);
      return toHex(requestIdOf({ kind: 'encoded', bytes: origin }, nonce, contractId, sealedInput));
    }
  }
}

/**
 * Every check on a parsed request. `jobId` is the queue job's id, which must be the request's
 * own (`<originKey>-<requestId>`): it is what makes a request queued twice run once.
 */
export function checkRequest(
  request: RequestJob,
  jobId: string | undefined,
  context: RequestCheckContext,
  nowSeconds: number,
): void {
  if (jobId !== undefined && jobId !== requestJobId(request.origin, request.requestId))
    throw new RequestRejectedError(
      'job-id-mismatch',
      `job ${jobId} is not ${requestJobId(request.origin, request.requestId)}`,
    );
  if (request.cluster.toLowerCase() !== context.cluster.toLowerCase())
    throw new RequestRejectedError('wrong-cluster', `request for cluster ${request.cluster}`);
  const origin = request.origin;
  if (origin.kind === 'phala' && origin.genesisHash.toLowerCase() !== context.phalaGenesisHash.toLowerCase())
    throw new RequestRejectedError('unsupported-origin', `another Phala-style chain (${origin.genesisHash})`);
  if (
    origin.kind === 'evm' &&
    context.evmGateways &&
    !context.evmGateways.some(
      (g) => g.chainId === origin.chainId && g.gateway.toLowerCase() === origin.gateway.toLowerCase(),
    )
  )
    throw new RequestRejectedError(
      'unsupported-origin',
      `gateway ${origin.gateway} on chain ${origin.chainId} is not configured`,
    );
  const expected = expectedRequestId(request, context);
  if (expected.toLowerCase() !== request.requestId.toLowerCase())
    throw new RequestRejectedError(
      'request-id-mismatch',
      `the fields give ${expected}, the payload says ${request.requestId}`,
    );
  if (request.deadline <= nowSeconds)
    throw new RequestRejectedError('deadline-passed', `deadline ${request.deadline}, now ${nowSeconds}`);
}

/** Where the proof will be checked: the EVM gateway, or the Phala-style chain (also for XCM origins). */
export function signingTarget(request: RequestJob, context: RequestCheckContext): ProofTarget {
  if (request.origin.kind === 'evm')
    return { kind: 'evm', chainId: request.origin.chainId, verifyingContract: request.origin.gateway };
  return { kind: 'substrate', genesisHash: context.phalaGenesisHash };
}

/**
 * An origin as `ctx.origin` shows it to a contract (hex in lower case). `endUser` is the account
 * the request is for: on EVM the gateway's end user (a consumer contract's caller, or the direct
 * caller), elsewhere the requester. Credit a request to `endUser`, never to `requester`.
 */
export type ContractOrigin = (
  | { kind: 'evm'; chainId: number; gateway: string; requester: string }
  | { kind: 'phala'; genesisHash: string; requester: string }
  | { kind: 'xcm'; paraId: number; location: string; requester: string }
) & {
  /** Always set in what `contractOrigin` returns; origins written by hand (settings) leave it out. */
  endUser?: string;
};

/**
 * `ctx.origin` as the contract sees it: the origin, the requester and the end user, in one
 * canonical (lower case) form, so that every worker hands the contract the same bytes. The
 * enclave opens the input for this `endUser` (it is bound into the envelope's context).
 */
export function contractOrigin(request: RequestJob): ContractOrigin {
  const requester = request.requester.toLowerCase();
  const origin = request.origin;
  switch (origin.kind) {
    case 'evm': {
      const endUser = endUserOf(request);
      return {
        kind: 'evm',
        chainId: origin.chainId,
        gateway: origin.gateway.toLowerCase(),
        requester,
        endUser,
      };
    }
    case 'phala':
      return { kind: 'phala', genesisHash: origin.genesisHash.toLowerCase(), requester, endUser: requester };
    case 'xcm':
      return {
        kind: 'xcm',
        paraId: origin.paraId,
        location: origin.location.toLowerCase(),
        requester,
        endUser: requester,
      };
  }
}
