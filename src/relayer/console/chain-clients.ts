import { type Client, createPublicClient, http } from 'viem';
import type { Config } from '../../config/schema.js';
import { type PhalaClient, closePhalaClient, createPhalaClient } from '../../phala/client.js';

type EvmChainConfig = Extract<Config['chains'][number], { kind: 'evm' }>;
type PhalaChainConfig = Extract<Config['chains'][number], { kind: 'phala' }>;

/** How long one read for a page may take: a dead chain shows as an error, never a hung page. */
export const READ_TIMEOUT_MS = 3_000;

/**
 * The console's own connections to the chains, opened when a page first needs them and closed
 * with the console: its reads (registries, balances, heads) never queue behind the watchers' and
 * submitters' on their connections.
 */
export class ConsoleChainClients {
  readonly #config: Config;
  #phala: Promise<PhalaClient> | undefined;
  readonly #evm = new Map<string, Client>();

  constructor(config: Config) {
    this.#config = config;
  }

  get phalaConfig(): PhalaChainConfig | undefined {
    return this.#config.chains.find((c): c is PhalaChainConfig => c.kind === 'phala');
  }

  get evmConfigs(): EvmChainConfig[] {
    return this.#config.chains.filter((c): c is EvmChainConfig => c.kind === 'evm');
  }

  /** The Phala-style chain's client; a failed connection is tried again on the next call. */
  phala(): Promise<PhalaClient> | null {
    const chain = this.phalaConfig;
    if (!chain) return null;
    if (!this.#phala) {
      const connecting = createPhalaClient({ url: chain.wsUrl, connectTimeoutMs: READ_TIMEOUT_MS });
      this.#phala = connecting;
      connecting.catch(() => {
        if (this.#phala === connecting) this.#phala = undefined;
      });
    }
    return this.#phala;
  }

  evm(chain: EvmChainConfig): Client {
    let client = this.#evm.get(chain.name);
    if (!client) {
      client = createPublicClient({
        transport: http(chain.rpcUrl, { retryCount: 0, timeout: READ_TIMEOUT_MS }),
      });
      this.#evm.set(chain.name, client);
    }
    return client;
  }

  async close(): Promise<void> {
    const phala = this.#phala;
    this.#phala = undefined;
    if (phala) await phala.then(closePhalaClient, () => undefined).catch(() => undefined);
  }
}
