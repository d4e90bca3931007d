/** The registration's attestation bytes (docs/gatekeeper.md#attestation-bytes); the codec is shared with the worker. */
export {
  ATTESTATION_BUNDLE_MAGIC,
  type AttestationBundle,
  decodeAttestationBundle,
  encodeAttestationBundle,
  freshnessBlockOf,
} from '../../crypto/attestation-bundle.js';
