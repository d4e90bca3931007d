import {
  AbiEventSignatureNotFoundError,
  type Address,
  type Hex,
  type Log,
  decodeEventLog,
  getAddress,
} from 'viem';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';
import { GatewayLogDecodeError } from '../errors.js';
import { type FulfillResult, fulfillResultName } from '../types.js';

/** A gateway event, by name, with its fields. */
export type GatewayEvent =
  | {
      kind: 'RequestSent';
      requestId: Hex;
      contractId: Hex;
      requester: Address;
      /** The account the requester acts for; the requester itself when it asked for itself. */
      endUser: Address;
      nonce: bigint;
      sealedInput: Hex;
      responseKey: Hex;
      callbackGasLimit: number;
      deadline: bigint;
    }
  | { kind: 'RequestFulfilled'; requestId: Hex; worker: Address; result: FulfillResult }
  | { kind: 'CallbackFailed'; requestId: Hex; returnData: Hex }
  | { kind: 'FulfillmentSkipped'; requestId: Hex; worker: Address; reason: FulfillResult }
  | { kind: 'RequestCancelled'; requestId: Hex; requester: Address }
  | {
      kind: 'WorkerRegistered';
      worker: Address;
      cluster: Hex;
      measurement: Hex;
      expiresAt: bigint;
      epoch: bigint;
    }
  | { kind: 'WorkerRevoked'; worker: Address; cluster: Hex; revokeUpTo: bigint; epoch: bigint }
  | { kind: 'ContractRegistered'; contractId: Hex; cluster: Hex; publicKey: Hex; epoch: bigint }
  | { kind: 'GatekeepersUpdated'; epoch: bigint; gatekeepers: readonly Address[]; threshold: number };

export type GatewayEventKind = GatewayEvent['kind'];

/** Where a gateway event was seen, plus its deterministic id. */
export type GatewayLogEvent = GatewayEvent & {
  /**
   * Stable across re-reads and reorgs that keep the event: `evm:<chainId>:<gateway>:<kind>:<key>`,
   * the key being the request id for request events (one per request by construction).
   */
  id: string;
  chainId: number;
  gateway: Address;
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
  /** The log as the node gave it (for the relayer's replay tapes, docs/PROTOCOL.md §8). */
  log?: { topics: Hex[]; data: Hex };
};

function eventKey(e: GatewayEvent, transactionHash: Hex): string {
  switch (e.kind) {
    case 'RequestSent':
    case 'RequestFulfilled':
    case 'CallbackFailed':
    case 'RequestCancelled':
      return e.requestId;
    case 'FulfillmentSkipped':
      return `${e.requestId}:${transactionHash}:${e.reason}`;
    case 'WorkerRegistered':
      return `${e.worker}:${e.expiresAt}`;
    case 'WorkerRevoked':
      return `${e.worker}:${e.revokeUpTo}:${transactionHash}`;
    case 'ContractRegistered':
      return `${e.contractId}:${e.epoch}`;
    case 'GatekeepersUpdated':
      return `${e.epoch}`;
  }
}

function toEvent(name: string, args: Record<string, unknown>): GatewayEvent | null {
  // viem has checked every field against the ABI; this renames and narrows, and refuses a
  // field that is missing (an ABI and this mapping out of step).
  const a = new Proxy(args, {
    get(target, key: string) {
      const value = target[key];
      if (value === undefined) throw new Error(`${name} has no field ${key}`);
      return value;
    },
  });
  switch (name) {
    case 'RequestSent':
      return {
        kind: 'RequestSent',
        requestId: a.requestId as Hex,
        contractId: a.contractId as Hex,
        requester: a.requester as Address,
        endUser: a.endUser as Address,
        nonce: a.nonce as bigint,
        sealedInput: a.sealedInput as Hex,
        responseKey: a.responseKey as Hex,
        callbackGasLimit: a.callbackGasLimit as number,
        deadline: a.deadline as bigint,
      };
    case 'RequestFulfilled':
      return {
        kind: 'RequestFulfilled',
        requestId: a.requestId as Hex,
        worker: a.worker as Address,
        result: fulfillResultName(a.result as number),
      };
    case 'CallbackFailed':
      return { kind: 'CallbackFailed', requestId: a.requestId as Hex, returnData: a.returnData as Hex };
    case 'FulfillmentSkipped':
      return {
        kind: 'FulfillmentSkipped',
        requestId: a.requestId as Hex,
        worker: a.worker as Address,
        reason: fulfillResultName(a.reason as number),
      };
    case 'RequestCancelled':
      return { kind: 'RequestCancelled', requestId: a.requestId as Hex, requester: a.requester as Address };
    case 'WorkerRegistered':
      return {
        kind: 'WorkerRegistered',
        worker: a.worker as Address,
        cluster: a.cluster as Hex,
        measurement: a.measurement as Hex,
        expiresAt: a.expiresAt as bigint,
        epoch: a.epoch as bigint,
      };
    case 'WorkerRevoked':
      return {
        kind: 'WorkerRevoked',
        worker: a.worker as Address,
        cluster: a.cluster as Hex,
        revokeUpTo: a.revokeUpTo as bigint,
        epoch: a.epoch as bigint,
      };
    case 'ContractRegistered':
      return {
        kind: 'ContractRegistered',
        contractId: a.contractId as Hex,
        cluster: a.cluster as Hex,
        publicKey: a.publicKey as Hex,
        epoch: a.epoch as bigint,
      };
    case 'GatekeepersUpdated':
      return {
        kind: 'GatekeepersUpdated',
        epoch: a.epoch as bigint,
        gatekeepers: a.gatekeepers as readonly Address[],
        threshold: a.threshold as number,
      };
    default:
      return null;
  }
}

/**
 * Decodes one log of the gateway. Returns null for a log that is not a gateway event (another
 * topic); throws `GatewayLogDecodeError` for a log that claims to be one but does not decode, or
 * that lacks its block/transaction position (a pending log).
 */
export function decodeGatewayLog(log: Log, chainId: number): GatewayLogEvent | null {
  const { blockNumber, blockHash, transactionHash, logIndex } = log;
  if (blockNumber === null || blockHash === null || transactionHash === null || logIndex === null) {
    throw new GatewayLogDecodeError(transactionHash, logIndex, { details: 'log without a block position' });
  }
  let event: GatewayEvent | null;
  try {
    const decoded = decodeEventLog({
      abi: phalaBridgeGatewayAbi,
      data: log.data,
      topics: log.topics,
      strict: true,
    });
    event = toEvent(decoded.eventName, decoded.args as Record<string, unknown>);
  } catch (error) {
    if (error instanceof AbiEventSignatureNotFoundError) return null;
    throw new GatewayLogDecodeError(transactionHash, logIndex, {
      cause: error,
      details: error instanceof Error ? error.message.split('\n')[0] : String(error),
    });
  }
  if (!event) return null;
  const gateway = getAddress(log.address);
  return {
    ...event,
    id: `evm:${chainId}:${gateway.toLowerCase()}:${event.kind}:${eventKey(event, transactionHash)}`,
    chainId,
    gateway,
    blockNumber,
    blockHash,
    transactionHash,
    logIndex,
    log: { topics: [...log.topics] as Hex[], data: log.data },
  };
}
