import { formatUnits } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBalance, getBlock, getTransactionCount } from 'viem/actions';
import type { Hex } from '../../base/bytes.js';
import type { Config } from '../../config/schema.js';
import { signerFromUri } from '../../phala/signers.js';
import { RedisCheckpointStore } from '../checkpoints.js';
import type { RelayerMetrics } from '../metrics.js';
import { type ReadinessResult, failureDetail, withTimeout } from '../readiness.js';
import type { RedisConnection } from '../redis.js';
import { type ConsoleChainClients, READ_TIMEOUT_MS } from './chain-clients.js';

export type SignerView = { address: string; balance: string; nonce: number; pending: number; error?: string };

export type ChainView = {
  name: string;
  kind: string;
  watched: boolean;
  readiness?: ReadinessResult | undefined;
  head?: number;
  finalized?: number;
  cursor?: number;
  lagBlocks?: number;
  lagSeconds?: number;
  signer?: SignerView;
  /** This page's own reads that failed (the RPC's errors as an operator sees them). */
  errors: string[];
};

const bounded = <T>(promise: Promise<T>, what: string) => withTimeout(promise, READ_TIMEOUT_MS, what);

async function attempt<T>(errors: string[], what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await bounded(read(), what);
  } catch (error) {
    errors.push(`${what}: ${failureDetail(error)}`);
    return undefined;
  }
}

type EvmChain = Extract<Config['chains'][number], { kind: 'evm' }>;
type PhalaChain = Extract<Config['chains'][number], { kind: 'phala' }>;

async function evmChain(
  chain: EvmChain,
  clients: ConsoleChainClients,
  cursor: number | undefined,
  v: ChainView,
) {
  const client = clients.evm(chain);
  const head = await attempt(v.errors, 'head', () => getBlock(client, { blockTag: 'latest' }));
  const finalized = await attempt(v.errors, 'finalized head', () =>
    getBlock(client, { blockTag: 'finalized' }),
  );
  if (head) v.head = Number(head.number);
  if (finalized) v.finalized = Number(finalized.number);
  if (head && cursor !== undefined) {
    v.lagBlocks = Math.max(0, Number(head.number) - cursor);
    const at = await attempt(v.errors, 'cursor block', () =>
      getBlock(client, { blockNumber: BigInt(cursor) }),
    );
    if (at) v.lagSeconds = Math.max(0, Number(head.timestamp - at.timestamp));
  }
  if (chain.signer) {
    const address = privateKeyToAccount(chain.signer.reveal() as Hex).address;
    const errors: string[] = [];
    const [balance, nonce, pending] = await Promise.all([
      attempt(errors, 'balance', () => getBalance(client, { address })),
      attempt(errors, 'nonce', () => getTransactionCount(client, { address, blockTag: 'latest' })),
      attempt(errors, 'pending nonce', () => getTransactionCount(client, { address, blockTag: 'pending' })),
    ]);
    v.signer = {
      address,
      balance: balance === undefined ? '?' : `${formatUnits(balance, 18)} (native)`,
      nonce: nonce ?? -1,
      pending: nonce !== undefined && pending !== undefined ? pending - nonce : -1,
      ...(errors.length ? { error: errors.join('; ') } : {}),
    };
  }
}

async function phalaChain(
  chain: PhalaChain,
  clients: ConsoleChainClients,
  cursor: number | undefined,
  v: ChainView,
) {
  const connecting = clients.phala();
  if (!connecting) return;
  const phala = await attempt(v.errors, 'connection', () => connecting);
  if (!phala) return;
  const { api } = phala;
  const head = await attempt(v.errors, 'head', async () =>
    (await api.rpc.chain.getHeader()).number.toNumber(),
  );
  const finalized = await attempt(v.errors, 'finalized head', async () =>
    (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber(),
  );
  if (head !== undefined) v.head = head;
  if (finalized !== undefined) v.finalized = finalized;
  // The watcher follows finalized blocks: its lag is counted from the finalized head.
  if (finalized !== undefined && cursor !== undefined) {
    v.lagBlocks = Math.max(0, finalized - cursor);
    v.lagSeconds = (v.lagBlocks * chain.blockTimeMs) / 1000;
  }
  if (chain.signer) {
    const signer = await signerFromUri(chain.signer.reveal(), chain.signerType);
    const errors: string[] = [];
    const account = await attempt(errors, 'account', async () => {
      const raw = (await api.query.system!.account!(signer.address)) as unknown as {
        nonce: { toNumber(): number };
        data: { free: { toBigInt(): bigint } };
      };
      return { nonce: raw.nonce.toNumber(), free: raw.data.free.toBigInt() };
    });
    const next = await attempt(errors, 'next index', async () =>
      (await api.rpc.system.accountNextIndex(signer.address)).toNumber(),
    );
    const decimals = api.registry.chainDecimals[0] ?? 12;
    v.signer = {
      address: signer.address,
      balance: account
        ? `${formatUnits(account.free, decimals)} ${api.registry.chainTokens[0] ?? ''}`.trim()
        : '?',
      nonce: account?.nonce ?? -1,
      pending: account && next !== undefined ? next - account.nonce : -1,
      ...(errors.length ? { error: errors.join('; ') } : {}),
    };
  }
}

/** Every configured chain: readiness (as /readyz says it), and for watched chains heads, cursor, lag and signer. */
export async function readChains(p: {
  config: Config;
  redis: RedisConnection;
  clients: ConsoleChainClients;
  readiness: Record<string, ReadinessResult>;
}): Promise<ChainView[]> {
  return Promise.all(
    p.config.chains.map(async (chain) => {
      const v: ChainView = {
        name: chain.name,
        kind: chain.kind,
        watched: chain.kind === 'evm' || chain.kind === 'phala',
        readiness: p.readiness[`chain:${chain.name}`],
        errors: [],
      };
      if (!v.watched) return v;
      const store = new RedisCheckpointStore({
        redis: p.redis,
        prefix: p.config.redis.prefix,
        chain: chain.name,
      });
      const checkpoint = await attempt(v.errors, 'cursor', () => store.load());
      const cursor = checkpoint ? Number(checkpoint.blockNumber) : undefined;
      if (cursor !== undefined) v.cursor = cursor;
      if (chain.kind === 'evm') await evmChain(chain, p.clients, cursor, v);
      else if (chain.kind === 'phala') await phalaChain(chain, p.clients, cursor, v);
      return v;
    }),
  );
}

/** Errors the relayer counted since it started, by kind (phala_bridge_errors_total). */
export async function errorCounts(
  metrics: Pick<RelayerMetrics, 'errors'>,
): Promise<{ kind: string; count: number }[]> {
  const { values } = await metrics.errors.get();
  return values
    .filter((v) => v.value > 0)
    .map((v) => ({ kind: String(v.labels.kind ?? ''), count: v.value }))
    .sort((a, b) => b.count - a.count);
}
