export { type AuthoritySet, SubstrateLightClient, type VerifiedHeader } from './client.js';
export { type LightClientConfig, type LightClientConfigInput, lightClientConfigSchema } from './config.js';
export { LightClientError, type LightClientErrorReason } from './errors.js';
export {
  type Authority,
  type DigestItem,
  GRANDPA_ENGINE_ID,
  type GrandpaLog,
  type Header,
  type HeaderJson,
  authoritySetChangeOf,
  decodeGrandpaLog,
  decodeHeader,
  grandpaLogs,
  headerFromJson,
  headerHash,
} from './header.js';
export {
  type FinalityProof,
  type GrandpaJustification,
  type SignedPrecommit,
  type VerifiedJustification,
  type VerifyJustificationParameters,
  decodeFinalityProof,
  decodeJustification,
  precommitSigningPayload,
  supermajorityThreshold,
  verifyJustification,
} from './justification.js';
export { type RpcTransport, transportFromProvider } from './rpc.js';
export {
  type TrieNode,
  type VerifyReadProofParameters,
  decodeTrieNode,
  verifyReadProof,
} from './trie-proof.js';
