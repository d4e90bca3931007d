import type { Command } from 'commander';
import { registerAttestationCommand } from './attestation.js';
import { registerConfigCommand } from './config.js';
import { registerContractCommand } from './contract.js';
import { registerDevnetCommand } from './devnet.js';
import { registerEnvelopeCommand } from './envelope.js';
import { registerGatekeeperCommand } from './gatekeeper.js';
import { registerJobsCommand } from './jobs.js';
import { registerKeysCommand } from './keys.js';
import { registerNodeCommand } from './node.js';
import { registerRelayDevnetCommand } from './relay-devnet.js';
import { registerReplayCommand } from './replay.js';
import { registerStartCommand } from './start.js';
import { registerWorkerCommand } from './worker.js';
import { registerXcmCommand } from './xcm.js';

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerConfigCommand(program);
  registerKeysCommand(program);
  registerEnvelopeCommand(program);
  registerAttestationCommand(program);
  registerXcmCommand(program);
  registerContractCommand(program);
  registerNodeCommand(program);
  registerRelayDevnetCommand(program);
  registerWorkerCommand(program);
  registerGatekeeperCommand(program);
  registerStartCommand(program);
  registerJobsCommand(program);
  registerDevnetCommand(program);
  registerReplayCommand(program);
}
