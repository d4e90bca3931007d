import { errorMessage } from '../../base/errors.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';
import type { GatekeeperEnclave } from '../enclave/enclave.js';
import { Gatekeeper, type GatekeeperParameters } from './gatekeeper.js';

/**
 * A gatekeeper on its own chain connection, with a watchdog: when the chain does not answer, or
 * the service cannot finish a block, for longer than `reconnectTimeoutMs`, the service is
 * stopped, the connection thrown away and a new one made, and the service started again (it
 * resumes after its cursor, so nothing is lost).
 *
 * polkadot-js reconnects by itself, but its WsProvider caches the promise of every call made at a
 * given block — including a rejected one — and refreshes the entry on each use: a historic query
 * that failed while the connection was down fails the same way for as long as it is retried
 * (observed with @polkadot/rpc-provider 16.5). Only a new provider clears that.
 */
export type SuperviseGatekeeperParameters = Omit<GatekeeperParameters, 'client'> & {
  /** The Phala-style chain's WebSocket endpoint. */
  url: string;
  /** Default 30 s. */
  reconnectTimeoutMs?: number;
};

export type SupervisedGatekeeper = {
  /** The current service (replaced after a reconnect). */
  readonly gatekeeper: Gatekeeper;
  /** The current connection. */
  readonly client: PhalaClient;
  readonly enclave: GatekeeperEnclave;
  /** How many times the connection was rebuilt. */
  readonly reconnects: number;
  /** Stops the service and closes the connection (not the enclave: the caller's). */
  stop(): Promise<void>;
};

export async function superviseGatekeeper(p: SuperviseGatekeeperParameters): Promise<SupervisedGatekeeper> {
  const { url, reconnectTimeoutMs = 30_000, ...parameters } = p;
  const log = p.logger;
  const connect = async () => {
    const client = await createPhalaClient({ url });
    try {
      return { client, gatekeeper: await Gatekeeper.start({ ...parameters, client }) };
    } catch (error) {
      await closePhalaClient(client).catch(() => {});
      throw error;
    }
  };
  let current = await connect();
  let downSince: number | null = null;
  let rebuilding: Promise<void> | null = null;
  let stopped = false;
  let reconnects = 0;
  const rebuild = async () => {
    try {
      await current.gatekeeper.stop();
      await closePhalaClient(current.client).catch(() => {});
      if (stopped) return;
      current = await connect();
      reconnects++;
      downSince = null;
      log?.info({ reconnects }, 'reconnected to the chain and restarted');
    } catch (error) {
      log?.warn({ error: errorMessage(error) }, 'reconnecting failed; trying again');
    }
  };
  // Liveness is probed, not read from flags: a stuck socket can leave polkadot-js's own
  // `isConnected` unreliable, while an RPC round trip cannot lie.
  const period = Math.max(100, Math.min(5_000, Math.floor(reconnectTimeoutMs / 3)));
  let probing = false;
  const probe = async () => {
    if (stopped || rebuilding || probing) return;
    probing = true;
    try {
      const alive = await Promise.race([
        current.client.api.rpc.chain.getFinalizedHead().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), period).unref()),
      ]);
      const stalled = current.gatekeeper.stalledForMs >= reconnectTimeoutMs;
      if (alive && !stalled) {
        downSince = null;
        return;
      }
      if (!alive) {
        downSince ??= Date.now();
        if (Date.now() - downSince < reconnectTimeoutMs) return;
      }
      if (stopped) return;
      log?.error(
        {
          downForMs: downSince === null ? 0 : Date.now() - downSince,
          stalledForMs: current.gatekeeper.stalledForMs,
        },
        'the chain does not answer, or blocks keep failing: reconnecting afresh',
      );
      rebuilding = rebuild().finally(() => {
        rebuilding = null;
      });
    } finally {
      probing = false;
    }
  };
  const watchdog = setInterval(() => void probe(), period);
  watchdog.unref();
  return {
    get gatekeeper() {
      return current.gatekeeper;
    },
    get client() {
      return current.client;
    },
    enclave: p.enclave,
    get reconnects() {
      return reconnects;
    },
    async stop() {
      stopped = true;
      clearInterval(watchdog);
      await rebuilding;
      await current.gatekeeper.stop();
      await closePhalaClient(current.client).catch(() => {});
    },
  };
}
