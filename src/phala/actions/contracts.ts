import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { Codec } from '@polkadot/types/types';
import { z } from 'zod';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../../base/bytes.js';
import { blake2_256 } from '../../crypto/hash.js';
import { signSubstrateFulfillment } from '../../crypto/proofs.js';
import type { PhalaClient } from '../client.js';
import { signPayload, stateCommitPayload } from '../payloads.js';
import type { Signer } from '../submit.js';
import {
  type CodeInfo,
  type ContractInfo,
  type ContractState,
  type Fulfillment,
  type Request,
  codeInfoSchema,
  contractInfoSchema,
  contractStateSchema,
  fulfillmentSchema,
  parseChainData,
  requestSchema,
} from '../types.js';
import { type ActionOptions, type Bytes, bytesOf, hexOf, queryPlain, submitFor } from './common.js';

/** PhalaContracts: code, instances, requests, results, encrypted state. */

type Query = (...args: unknown[]) => Promise<Codec>;
const q = (client: PhalaClient) => client.api.query.phalaContracts as unknown as Record<string, Query>;
const tx = (client: PhalaClient) => client.api.tx.phalaContracts!;

/** Uploads contract code; the event carries its code hash (blake2_256 of the code). */
export function uploadCode(client: PhalaClient, p: { signer: Signer; code: Bytes } & ActionOptions) {
  return submitFor(client, tx(client).uploadCode!(hexOf(p.code, 'code')), p.signer, 'CodeUploaded', p);
}

/** Instantiates uploaded code in a cluster; the event carries the contract id. */
export function instantiate(
  client: PhalaClient,
  p: { signer: Signer; codeHash: Bytes; cluster: Bytes; salt: Bytes } & ActionOptions,
) {
  const call = tx(client).instantiate!(
    hexOf(p.codeHash, 'codeHash', 32),
    hexOf(p.cluster, 'cluster', 32),
    hexOf(p.salt, 'salt'),
  );
  return submitFor(client, call, p.signer, 'Instantiated', p);
}

/**
 * Sends a request: the input sealed to the contract's key, the key to seal the answer to, and the
 * last block at which it may be fulfilled. The event carries the request id.
 */
export function request(
  client: PhalaClient,
  p: {
    signer: Signer;
    contractId: Bytes;
    sealedInput: Bytes;
    responseKey: Bytes;
    deadline: number;
  } & ActionOptions,
) {
  const call = tx(client).request!(
    hexOf(p.contractId, 'contractId', 32),
    hexOf(p.sealedInput, 'sealedInput'),
    hexOf(p.responseKey, 'responseKey', 32),
    p.deadline,
  );
  return submitFor(client, call, p.signer, 'RequestSubmitted', p);
}

/** A deadline `blocks` after the current best block. */
export async function deadlineIn(client: PhalaClient, blocks: number): Promise<number> {
  const header = await client.api.rpc.chain.getHeader();
  return header.number.toNumber() + blocks;
}

/**
 * The new state a result brings along in `fulfill`: the version it extends and the sealed state
 * (PhalaContracts `NewState`).
 */
export type NewState = { expectedVersion: bigint; state: Bytes };

/**
 * The worker's signature of a result (PROTOCOL §4, Substrate form), bound to this chain's genesis;
 * with `stateCommit`, the v2 form that also covers the new state, as `fulfill` then checks it.
 */
export function signFulfillment(
  client: PhalaClient,
  p: {
    workerSecretKey: Uint8Array;
    requestId: Bytes;
    publicOutput: Bytes;
    sealedOutput: Bytes;
    stateRoot: Bytes;
    stateCommit?: NewState | null | undefined;
  },
): Hex {
  return u8aToHex(
    signSubstrateFulfillment(
      {
        genesisHash: client.genesisHash,
        requestId: bytesOf(p.requestId, 'requestId'),
        publicOutput: bytesOf(p.publicOutput, 'publicOutput'),
        sealedOutput: bytesOf(p.sealedOutput, 'sealedOutput'),
        stateRoot: bytesOf(p.stateRoot, 'stateRoot'),
        stateCommit: p.stateCommit
          ? {
              expectedVersion: p.stateCommit.expectedVersion,
              stateHash: blake2_256(bytesOf(p.stateCommit.state, 'stateCommit.state')),
            }
          : null,
      },
      p.workerSecretKey,
    ),
  ) as Hex;
}

/**
 * Submits a worker-signed result (any account may submit; the relayer does). A result that
 * changed the contract's state brings it as `stateCommit` (signed with it: `signFulfillment`);
 * both land in one dispatch or neither does (PhalaContracts.StaleState when the state moved on).
 */
export function fulfill(client: PhalaClient, p: { signer: Signer } & FulfillParameters & ActionOptions) {
  return submitFor(client, fulfillCall(client, p), p.signer, 'RequestFulfilled', p);
}

/** What a fulfilment carries: the worker's answer, the state it made, and the worker's signature. */
export type FulfillParameters = {
  requestId: Bytes;
  publicOutput: Bytes;
  sealedOutput: Bytes;
  stateRoot: Bytes;
  stateCommit?: NewState | null | undefined;
  signature: Bytes;
};

/**
 * The unsigned `fulfill` call that `fulfill` submits, for a caller that signs and broadcasts it
 * itself (the relayer's destination: its own nonces, no waiting).
 */
export function fulfillCall(client: PhalaClient, p: FulfillParameters): SubmittableExtrinsic<'promise'> {
  return tx(client).fulfill!(
    hexOf(p.requestId, 'requestId', 32),
    hexOf(p.publicOutput, 'publicOutput'),
    hexOf(p.sealedOutput, 'sealedOutput'),
    hexOf(p.stateRoot, 'stateRoot', 32),
    p.stateCommit
      ? {
          expectedVersion: p.stateCommit.expectedVersion,
          state: hexOf(p.stateCommit.state, 'stateCommit.state'),
        }
      : null,
    hexOf(p.signature, 'signature', 65),
  );
}

/** A worker's signature of a state commit for requests of other chains (`stateCommitPayload`, v2). */
export function signStateCommit(
  client: PhalaClient,
  p: {
    workerSecretKey: Uint8Array;
    contractId: Bytes;
    expectedVersion: bigint;
    state: Bytes;
    stateRoot: Bytes;
    requestIds: readonly Bytes[];
  },
): Hex {
  const payload = stateCommitPayload({
    genesisHash: client.genesisHash,
    contractId: bytesOf(p.contractId, 'contractId'),
    expectedVersion: p.expectedVersion,
    state: bytesOf(p.state, 'state'),
    stateRoot: bytesOf(p.stateRoot, 'stateRoot'),
    requestIds: p.requestIds.map((id, i) => bytesOf(id, `requestIds[${i}]`)),
  });
  return u8aToHex(signPayload(payload, p.workerSecretKey)) as Hex;
}

/**
 * Commits new encrypted state on top of `expectedVersion` for the named requests, which this chain
 * does not hold (EVM origins); fails with PhalaContracts.StaleState if the state moved, and with
 * RequestNeedsFulfillment for a request pending here (its state goes with `fulfill`).
 */
export function commitState(
  client: PhalaClient,
  p: {
    signer: Signer;
    contractId: Bytes;
    expectedVersion: bigint;
    state: Bytes;
    stateRoot: Bytes;
    requestIds: readonly Bytes[];
    signature: Bytes;
  } & ActionOptions,
) {
  const call = tx(client).commitState!(
    hexOf(p.contractId, 'contractId', 32),
    p.expectedVersion,
    hexOf(p.state, 'state'),
    hexOf(p.stateRoot, 'stateRoot', 32),
    p.requestIds.map((id, i) => hexOf(id, `requestIds[${i}]`, 32)),
    hexOf(p.signature, 'signature', 65),
  );
  return submitFor(client, call, p.signer, 'StateCommitted', p);
}

/** Cancels the signer's own request after its deadline. */
export function cancel(client: PhalaClient, p: { signer: Signer; requestId: Bytes } & ActionOptions) {
  return submitFor(
    client,
    tx(client).cancel!(hexOf(p.requestId, 'requestId', 32)),
    p.signer,
    'RequestCancelled',
    p,
  );
}

// ------------------------------------------------------------------ queries

export async function getCode(client: PhalaClient, codeHash: Bytes): Promise<Hex | null> {
  return (await queryPlain(q(client).code!, hexOf(codeHash, 'codeHash', 32))) as Hex | null;
}

/** Who uploaded code, when, its size and its kind (JavaScript or WebAssembly). */
export async function getCodeInfo(client: PhalaClient, codeHash: Bytes): Promise<CodeInfo | null> {
  const value = await queryPlain(q(client).codeInfoOf!, hexOf(codeHash, 'codeHash', 32));
  return value === null ? null : parseChainData(codeInfoSchema, value, 'PhalaContracts.CodeInfoOf');
}

export async function getContract(client: PhalaClient, contractId: Bytes): Promise<ContractInfo | null> {
  const value = await queryPlain(q(client).contracts!, hexOf(contractId, 'contractId', 32));
  return value === null ? null : parseChainData(contractInfoSchema, value, 'PhalaContracts.Contracts');
}

export async function getContractState(
  client: PhalaClient,
  contractId: Bytes,
): Promise<ContractState | null> {
  const value = await queryPlain(q(client).contractStates!, hexOf(contractId, 'contractId', 32));
  return value === null ? null : parseChainData(contractStateSchema, value, 'PhalaContracts.ContractStates');
}

/** A contract's committed state as of one block (e.g. the finalized head). */
export async function getContractStateAt(
  client: PhalaClient,
  contractId: Bytes,
  blockHash: Bytes,
): Promise<ContractState | null> {
  const at = await client.api.at(hexOf(blockHash, 'blockHash', 32));
  const query = (at.query.phalaContracts as unknown as Record<string, Query>).contractStates!;
  const value = await queryPlain(query, hexOf(contractId, 'contractId', 32));
  return value === null ? null : parseChainData(contractStateSchema, value, 'PhalaContracts.ContractStates');
}

/**
 * `PhalaContracts.CommittedRequests(requestId)` at a block: the contract and the state version an
 * EVM request's state change landed as, or null when none did.
 */
export async function getCommittedRequestAt(
  client: PhalaClient,
  requestId: Bytes,
  blockHash: Bytes,
): Promise<{ contractId: Hex; version: bigint } | null> {
  const at = await client.api.at(hexOf(blockHash, 'blockHash', 32));
  const query = (at.query.phalaContracts as unknown as Record<string, Query>).committedRequests!;
  const value = await queryPlain(query, hexOf(requestId, 'requestId', 32));
  if (value === null) return null;
  const [contractId, version] = parseChainData(
    committedRequestSchema,
    value,
    'PhalaContracts.CommittedRequests',
  );
  return { contractId: contractId.toLowerCase() as Hex, version: BigInt(version) };
}

const committedRequestSchema = z.tuple([
  z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  z.union([z.number().int().nonnegative(), z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/)]),
]);

/** An open (unfulfilled, uncancelled) request. */
export async function getRequest(client: PhalaClient, requestId: Bytes): Promise<Request | null> {
  const value = await queryPlain(q(client).requests!, hexOf(requestId, 'requestId', 32));
  return value === null ? null : parseChainData(requestSchema, value, 'PhalaContracts.Requests');
}

/** The recorded result of a fulfilled request. */
export async function getResult(client: PhalaClient, requestId: Bytes): Promise<Fulfillment | null> {
  const value = await queryPlain(q(client).results!, hexOf(requestId, 'requestId', 32));
  return value === null ? null : parseChainData(fulfillmentSchema, value, 'PhalaContracts.Results');
}

/** The recorded result of a request as of one block (e.g. the finalized head). */
export async function getResultAt(
  client: PhalaClient,
  requestId: Bytes,
  blockHash: Bytes,
): Promise<Fulfillment | null> {
  const at = await client.api.at(hexOf(blockHash, 'blockHash', 32));
  const query = (at.query.phalaContracts as unknown as Record<string, Query>).results!;
  const value = await queryPlain(query, hexOf(requestId, 'requestId', 32));
  return value === null ? null : parseChainData(fulfillmentSchema, value, 'PhalaContracts.Results');
}

/** Where a request stands on chain: open, fulfilled, or unknown (never made, or cancelled). */
export async function requestStatus(
  client: PhalaClient,
  requestId: Bytes,
): Promise<'open' | 'fulfilled' | 'unknown'> {
  if (await getResult(client, requestId)) return 'fulfilled';
  if (await getRequest(client, requestId)) return 'open';
  return 'unknown';
}
