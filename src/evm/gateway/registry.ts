import { type Address, type Hex, encodeFunctionData } from 'viem';
import { fromHex } from '../../base/bytes.js';
import { InvalidInputError } from '../../base/errors.js';
import type {
  ContractRegistration,
  GatekeeperSetUpdate,
  WorkerRegistration,
  WorkerRevocation,
} from '../../crypto/proofs.js';
import { recoverTypedSigner, signTypedDigest } from '../../crypto/proofs.js';
import { phalaBridgeGatewayAbi } from '../artifacts/PhalaBridgeGateway.js';

/**
 * Puts gatekeeper signatures over `digest` in the order the gateway requires (ascending signer
 * address). Throws when one does not recover; duplicates are kept (the gateway rejects them).
 */
export function orderGatekeeperSignatures(digest: Hex, signatures: readonly Hex[]): Hex[] {
  const withSigner = signatures.map((signature, i) => {
    const signer = recoverTypedSigner(digest, signature);
    if (!signer) throw new InvalidInputError(`signatures[${i}]`, 'a valid 65-byte signature over the digest');
    return { signature, key: BigInt(signer) };
  });
  withSigner.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return withSigner.map((s) => s.signature);
}

/** Signs `digest` with each gatekeeper key and returns the signatures in the gateway's order. */
export function signAsGatekeepers(digest: Hex, secretKeys: readonly Uint8Array[]): Hex[] {
  return orderGatekeeperSignatures(
    digest,
    secretKeys.map((k) => signTypedDigest(digest, k)),
  );
}

function checkSignatures(signatures: readonly Hex[]): void {
  for (const [i, s] of signatures.entries()) fromHex(s, `signatures[${i}]`, 65);
}

export type EncodeRegisterWorkerParameters = { registration: WorkerRegistration; signatures: readonly Hex[] };

export function encodeRegisterWorker(p: EncodeRegisterWorkerParameters): Hex {
  checkSignatures(p.signatures);
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'registerWorker',
    args: [p.registration, p.signatures],
  });
}

export type EncodeRegisterContractParameters = {
  registration: ContractRegistration;
  signatures: readonly Hex[];
};

export function encodeRegisterContract(p: EncodeRegisterContractParameters): Hex {
  checkSignatures(p.signatures);
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'registerContract',
    args: [p.registration, p.signatures],
  });
}

export type EncodeRevokeWorkerParameters = { revocation: WorkerRevocation; signatures: readonly Hex[] };

export function encodeRevokeWorker(p: EncodeRevokeWorkerParameters): Hex {
  checkSignatures(p.signatures);
  const r = p.revocation;
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'revokeWorker',
    args: [r.worker, r.revokeUpTo, r.epoch, p.signatures],
  });
}

export type EncodeUpdateGatekeepersParameters = { update: GatekeeperSetUpdate; signatures: readonly Hex[] };

export function encodeUpdateGatekeepers(p: EncodeUpdateGatekeepersParameters): Hex {
  checkSignatures(p.signatures);
  const u = p.update;
  return encodeFunctionData({
    abi: phalaBridgeGatewayAbi,
    functionName: 'updateGatekeepers',
    args: [u.gatekeepers, u.threshold, u.epoch, p.signatures],
  });
}

/** Addresses in the ascending order the gateway requires for a gatekeeper set. */
export function sortAddresses(addresses: readonly Address[]): Address[] {
  return [...addresses].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
