import { t } from '../../scale/ty.js';

/** Types the Phala pallets share. Keys are raw byte arrays (compressed secp256k1 is 33 bytes). */

export const WorkerPublicKey = t.fixedBytes(33);
export const X25519PublicKey = t.fixedBytes(32);
export const EcdsaSignature = t.fixedBytes(65);
