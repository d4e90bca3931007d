/**
 * `phala-bridge/devnet`: the whole system on one machine (relay chain, Phala-style parachain,
 * sibling, EVM node with the gateway, gatekeeper, workers, relayer) and its parts, for tools that
 * build their own environment. Tests usually want `phala-bridge/testing`'s seeded `startDevnet`.
 *
 * The EVM node is Hardhat 2's, an optional peer dependency: without it, starting a devnet throws
 * a MissingOptionalPackageError naming `npm install --save-dev hardhat@2.29`.
 */
export {
  type DeployedContract,
  type Devnet,
  type StartDevnetParameters,
  startDevnet,
} from './orchestrator/devnet.js';
export {
  DEV_MNEMONIC,
  type DevAccount,
  type EvmNode,
  EvmNodeStartError,
  HARDHAT,
  type StartEvmNodeParameters,
  devAccounts,
  startEvmNode,
} from './evm/node.js';
export {
  type RelayDevnet,
  type RelayDevnetChain,
  type StartRelayDevnetParameters,
  startRelayDevnet,
} from './relay-devnet.js';
export { MissingOptionalPackageError } from '../base/optional-package.js';
