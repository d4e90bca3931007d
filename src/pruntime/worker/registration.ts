import type { Hex } from '../../base/bytes.js';
import { encodeAttestationBundle } from '../../crypto/attestation-bundle.js';
import * as balances from '../../phala/actions/balances.js';
import * as registry from '../../phala/actions/registry.js';
import type { PhalaClient } from '../../phala/client.js';
import type { Signer } from '../../phala/submit.js';
import type { WorkerInfo } from '../../phala/types.js';

/**
 * The worker's standing on the Phala-style chain (docs/pruntime-worker.md#registration), read
 * from PhalaRegistry.Workers, the chain time and the measurement allowlist. Only `approved` serves.
 */
export type RegistrationStatus =
  | { kind: 'unregistered' }
  /** Registered with another cluster or X25519 key than this worker has now. */
  | { kind: 'mismatch'; registeredAt: number; detail: string }
  | { kind: 'pending'; registeredAt: number }
  | { kind: 'approved'; registeredAt: number; measurement: Hex; expiresAt: number; approvedAt: number }
  | { kind: 'expired'; registeredAt: number; measurement: Hex; expiresAt: number }
  | { kind: 'measurement-removed'; registeredAt: number; measurement: Hex; expiresAt: number }
  | { kind: 'rejected'; registeredAt: number; reason: string }
  | { kind: 'revoked'; registeredAt: number; reason: string };

export type RegistrationKind = RegistrationStatus['kind'];

export function registrationStatusOf(
  info: WorkerInfo | null,
  me: { x25519: Hex; cluster: Hex },
  chainTime: number,
  measurementAllowed: boolean,
): RegistrationStatus {
  if (!info) return { kind: 'unregistered' };
  const registeredAt = info.registeredAt;
  if (info.cluster.toLowerCase() !== me.cluster.toLowerCase())
    return { kind: 'mismatch', registeredAt, detail: `registered in cluster ${info.cluster}` };
  if (info.x25519.toLowerCase() !== me.x25519.toLowerCase())
    return { kind: 'mismatch', registeredAt, detail: 'registered with another X25519 key' };
  const status = info.status;
  switch (status.kind) {
    case 'pending':
      return { kind: 'pending', registeredAt };
    case 'rejected':
      return { kind: 'rejected', registeredAt, reason: status.reason };
    case 'revoked':
      return { kind: 'revoked', registeredAt, reason: status.reason };
    case 'approved': {
      const expiresAt = Number(status.expiresAt);
      const base = { registeredAt, measurement: status.measurement, expiresAt };
      if (expiresAt <= chainTime) return { kind: 'expired', ...base };
      if (!measurementAllowed) return { kind: 'measurement-removed', ...base };
      return { kind: 'approved', ...base, approvedAt: status.approvedAt };
    }
  }
}

/**
 * Whether to (re-)register. Always when not registered as this worker is now, and when the
 * approval simply ran out (an expiry is routine: gatekeepers revoke with `RegistrationExpired`).
 * A rejection or a revocation for cause is a verdict: a running worker stops serving and waits;
 * only a restart (the operator's decision) registers again.
 */
export function shouldRegister(status: RegistrationStatus, starting: boolean): boolean {
  switch (status.kind) {
    case 'unregistered':
    case 'mismatch':
    case 'expired':
      return true;
    case 'revoked':
      return starting || status.reason.startsWith('RegistrationExpired');
    case 'rejected':
      return starting;
    default:
      return false;
  }
}

export type FundingParameters = {
  client: PhalaClient;
  /** The worker's own account (its identity key's ecdsa account). */
  account: Signer;
  /** Pays the top-up, when configured. */
  funder?: Signer | undefined;
  /** Below this free balance, the account is topped up (default 1 PHA = 10¹² planck). */
  minimumBalance?: bigint;
  /** How much a top-up sends (default 10 PHA). */
  topUp?: bigint;
};

export type FundingOutcome = { funded: boolean; balance: bigint; toppedUp: boolean };

/**
 * Makes sure the worker's account can pay for its registration: tops it up from the funder when
 * low, or reports that it is not funded (the operator must send funds to it).
 */
export async function ensureFunds(p: FundingParameters): Promise<FundingOutcome> {
  const minimum = p.minimumBalance ?? 10n ** 12n;
  const balance = await balances.freeBalance(p.client, p.account.address);
  if (balance >= minimum) return { funded: true, balance, toppedUp: false };
  if (!p.funder) return { funded: false, balance, toppedUp: false };
  await balances.transfer(p.client, {
    signer: p.funder,
    to: p.account.address,
    amount: p.topUp ?? 10n * 10n ** 12n,
  });
  return { funded: true, balance: await balances.freeBalance(p.client, p.account.address), toppedUp: true };
}

/**
 * Registers the worker with a fresh quote; resolves with the block it was registered in and the
 * attestation bytes sent. The quote's report data carries the hash of the chain's finalized head,
 * and the registration names that block (a v2 attestation bundle), so gatekeepers can tell the
 * quote was made for this registration and not replayed (docs/attestation.md#quote-freshness).
 */
export async function registerOnChain(p: {
  client: PhalaClient;
  account: Signer;
  x25519: Hex;
  cluster: Hex;
  /** Quotes the enclave's keys with these 32 freshness bytes in the report data. */
  quote: (freshness: Uint8Array) => Promise<Uint8Array>;
  /** DCAP collateral to bundle, when the worker has it (gatekeepers prefer their own when fresher). */
  collateral?: unknown;
}): Promise<{ registeredAt: number; attestation: Uint8Array }> {
  const api = p.client.api;
  const head = await api.rpc.chain.getFinalizedHead();
  const header = await api.rpc.chain.getHeader(head);
  const quote = await p.quote(head.toU8a());
  const attestation = encodeAttestationBundle(quote, p.collateral, header.number.toNumber());
  const result = await registry.registerWorker(p.client, {
    signer: p.account,
    x25519: p.x25519,
    cluster: p.cluster,
    attestation,
  });
  return { registeredAt: result.blockNumber, attestation };
}
