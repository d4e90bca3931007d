import type { IKeyringPair } from '@polkadot/types/types';
import type { EnclaveIdentity } from '../../pruntime/enclave/identity.js';
import { identityTransactionSigner as enclaveTransactionSigner } from '../../pruntime/enclave/transaction-signer.js';
import { GatekeeperRefusalError } from '../errors.js';

/**
 * The gatekeeper identity's ecdsa chain account as a polkadot-js signer: the enclave core's
 * (src/pruntime/enclave/transaction-signer.ts), which refuses bytes shaped like a signed
 * "phala-bridge/…" payload so the host cannot pass an approval off as a transaction; here that
 * refusal is a GatekeeperRefusalError `not-a-transaction`.
 */
export function identityTransactionSigner(identity: EnclaveIdentity, ss58Format = 42): IKeyringPair {
  return enclaveTransactionSigner(
    identity,
    ss58Format,
    () => new GatekeeperRefusalError('not-a-transaction', 'the bytes start with a gatekeeper payload tag'),
  );
}
