import { z } from 'zod';
import { Secret, secretSchema } from './secret.js';
import { isLoopbackHost } from '../base/net-host.js';

/**
 * The daemon's whole configuration. One schema, so `config check` and every role read the same
 * shape; defaults here are what a production operator gets without saying anything.
 */

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte 0x-hex value');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte 0x-hex address');
const port = z.number().int().min(0).max(65535);
const host = z.string().min(1).default('127.0.0.1');
const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });
const wsUrl = z.url({ protocol: /^wss?$/, error: 'a ws(s) URL' });
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a short lower-case name (a-z, 0-9, -)');

const batchSchema = z.strictObject({
  maxSize: z.number().int().min(1).max(256).default(32),
  maxDelayMs: z.number().int().min(0).max(60_000).default(500),
});

export const evmChainSchema = z.strictObject({
  kind: z.literal('evm'),
  name,
  chainId: z.number().int().positive(),
  rpcUrl: httpUrl,
  wsUrl: wsUrl.optional(),
  gateway: address,
  /** Blocks to wait before a log counts; `finalized` uses the node's finalized tag instead. */
  confirmations: z.union([z.number().int().min(0).max(1000), z.literal('finalized')]).default(2),
  startBlock: z.number().int().min(0).optional(),
  maxBlockRange: z.number().int().min(1).max(100_000).default(2_000),
  pollIntervalMs: z.number().int().min(50).default(2_000),
  /**
   * JSON-RPC calls the relayer makes together (a batch's status reads, a watch poll) go in one
   * HTTP request of up to this many; 0 sends each alone (for a provider that refuses batches).
   */
  rpcBatchSize: z.number().int().min(0).max(1_000).default(32),
  signer: secretSchema.optional(),
  batch: batchSchema.prefault({}),
  /** A transaction not mined after this long is replaced with a higher fee (same nonce). */
  replaceAfterMs: z.number().int().min(500).default(30_000),
  /** The most the submitter ever offers per gas, replacements included. */
  maxFeePerGasGwei: z.number().positive().default(500),
});

export const phalaChainSchema = z.strictObject({
  kind: z.literal('phala'),
  name,
  wsUrl,
  /** Suri or 0x-seed of the account that pays for fulfill/commitState extrinsics. */
  signer: secretSchema.optional(),
  signerType: z.enum(['sr25519', 'ed25519', 'ecdsa']).default('sr25519'),
  batch: batchSchema.prefault({}),
  /** Its own para id on the relay network, for tracking XCM responses. */
  paraId: z.number().int().min(0).optional(),
  /** Expected block time: turns a request's deadline block into a time. */
  blockTimeMs: z.number().int().min(1).default(6_000),
  /** First block to read when there is no checkpoint (default: the finalized head at first start). */
  startBlock: z.number().int().min(0).optional(),
  /** How long to follow an XCM response to its origin before calling it lost. */
  xcmResponseTimeoutMs: z.number().int().min(1_000).default(300_000),
});

/** A sibling parachain whose users call contracts over XCM; followed to track XCM responses. */
export const parachainSchema = z.strictObject({
  kind: z.literal('parachain'),
  name,
  wsUrl,
  paraId: z.number().int().min(0),
  /** Pays for carrying gatekeeper-signed worker approvals to its confidentialClient pallet. */
  signer: secretSchema.optional(),
  signerType: z.enum(['sr25519', 'ed25519', 'ecdsa']).default('sr25519'),
});

/** The relay chain between the parachains; followed to track XCM messages that pass through it. */
export const relayChainSchema = z.strictObject({
  kind: z.literal('relay'),
  name,
  wsUrl,
});

export const chainSchema = z.discriminatedUnion('kind', [
  evmChainSchema,
  phalaChainSchema,
  parachainSchema,
  relayChainSchema,
]);

export const redisSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379'),
    /**
     * Namespace of every key. Plain (`phala-bridge`): each queue and key family carries its own
     * hash tag, so a Redis Cluster spreads one deployment over its masters. Braced
     * (`{phala-bridge}`, the layout before): every key in one slot (docs/operations.md#redis-cluster).
     */
    prefix: z
      .string()
      .regex(/^(\{[a-z0-9-]+\}|[a-z0-9-]+)$/, 'a prefix like phala-bridge, or {phala-bridge} for one slot')
      .default('phala-bridge'),
    password: secretSchema.optional(),
    tls: z.boolean().default(false),
    sentinels: z.array(z.strictObject({ host: z.string(), port })).optional(),
    sentinelName: z.string().optional(),
    clusterNodes: z.array(z.strictObject({ host: z.string(), port })).optional(),
  })
  .refine((r) => !(r.sentinels && r.clusterNodes), { message: 'choose Sentinel or Cluster, not both' })
  .refine((r) => !r.sentinels || r.sentinelName, {
    message: 'sentinelName is required with sentinels',
    path: ['sentinelName'],
  });

/**
 * How a queue consumer's jobs outlive a process that dies holding them: BullMQ keeps a job's lock
 * while the process renews it (every half `lockDurationMs`), and any consumer's stalled check
 * (every `stalledIntervalMs`) moves a job whose lock has expired back to waiting. A dead process's
 * jobs go on within about their sum; a lock shorter than the longest event-loop stall of a loaded
 * process makes live jobs look dead and run twice.
 */
const jobLockFields = {
  /** How long a job's lock lasts without renewal: a dead process's job is retried after about this. */
  lockDurationMs: z.number().int().min(1_000).max(600_000).default(30_000),
  /** How often this process looks for jobs whose process died (stalled jobs). */
  stalledIntervalMs: z.number().int().min(500).max(600_000).default(15_000),
};

/** BullMQ's Worker options for a section's job lock fields (the relayer's `queues`, a `worker`). */
export function jobLockOptions(section: { lockDurationMs: number; stalledIntervalMs: number }): {
  lockDuration: number;
  stalledInterval: number;
} {
  return { lockDuration: section.lockDurationMs, stalledInterval: section.stalledIntervalMs };
}

export const queuesSchema = z.strictObject({
  ...jobLockFields,
  /** Retry delays in ms, used in order; the last repeats until the request's deadline. */
  backoffMs: z
    .array(z.number().int().positive())
    .min(1)
    .default([1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000]),
  dispatchConcurrency: z.number().int().min(1).max(1024).default(16),
  /**
   * @deprecated Never read by any role (a leftover of the first submit stage); still accepted so
   * that files that set it load. Removed in the next minor release.
   */
  resultTimeoutMs: z.number().int().min(100).optional(),
});

/**
 * What a worker trusts, pinned in its own configuration (docs/ARCHITECTURE.md#trust-model): the
 * Phala-style chain's genesis and the GRANDPA authority set its light client starts from, and for
 * each EVM chain it answers, its own RPC endpoints and how many of them must agree on a header.
 * Nothing the relayer, Redis or a single RPC node says can change what a worker acts on.
 */
export const workerTrustSchema = z.strictObject({
  phala: z.strictObject({
    genesisHash: hex32,
    /** Ed25519 GRANDPA authorities of set `setId` with their weights. */
    authorities: z
      .array(z.strictObject({ id: hex32, weight: z.number().int().positive().default(1) }))
      .min(1),
    setId: z.number().int().min(0).default(0),
  }),
  evm: z
    .array(
      z.strictObject({
        chainId: z.number().int().positive(),
        /** RPC endpoints of the worker's own choosing, ideally of different operators. */
        endpoints: z.array(httpUrl).min(1),
        /** How many endpoints must report the same block hash (k of n). */
        quorum: z.number().int().min(1),
        /** Blocks behind the endpoints' head a header must be to count. */
        depth: z.number().int().min(0).max(1_000).default(2),
      }),
    )
    .default([]),
});

/**
 * Where a worker's or gatekeeper's quotes and sealing keys come from (docs/attestation.md#quote-providers):
 * `sim` (development), `sgx-gramine` (`gramine` is its earlier name), `tdx` (configfs-tsm) or
 * `dstack` (the dstack guest agent's socket).
 */
const teePlatformSchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('sim'), platformCaKey: secretSchema, platformSecret: secretSchema }),
  z.strictObject({
    provider: z.literal('sgx-gramine'),
    devicePath: z.string().min(1).default('/dev/attestation'),
  }),
  z.strictObject({
    provider: z.literal('gramine'),
    devicePath: z.string().min(1).default('/dev/attestation'),
  }),
  z.strictObject({
    provider: z.literal('tdx'),
    configfsRoot: z.string().min(1).default('/sys/kernel/config/tsm/report'),
    expectedProvider: z.string().min(1).default('tdx_guest'),
    /** configfs-tsm derives no sealing key: one from the operator's secret store (≥ 16 bytes, hex). */
    sealingSecret: secretSchema.optional(),
  }),
  z.strictObject({
    provider: z.literal('dstack'),
    socketPath: z.string().min(1).default('/var/run/dstack.sock'),
    timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  }),
]);
export type TeePlatformConfig = z.infer<typeof teePlatformSchema>;

export const workerSchema = z.strictObject({
  cluster: hex32,
  trust: workerTrustSchema,
  concurrency: z.number().int().min(1).max(256).default(4),
  dataDir: z.string().min(1),
  http: z.strictObject({ host, port: port.default(8100) }).prefault({}),
  attestation: teePlatformSchema,
  /**
   * Suri of an account that tops up the worker's own chain account (the ecdsa account of its
   * identity key) before it registers; without it the operator funds that account.
   */
  funder: secretSchema.optional(),
  ...jobLockFields,
  /** Times a job may be recovered from a dead worker before it fails. */
  maxStalledCount: z.number().int().min(1).max(100).default(3),
  /**
   * EVM results ready together for the same gateway are also signed as one FulfillmentBatch, which
   * the relayer sends as one `fulfillBatch`. A result waits for other jobs still running at most
   * `maxDelayMs`, and 20 ms (at most `maxDelayMs`) once nothing else is running; `maxSize: 1`
   * turns batching off.
   * The size is also capped by the gateway chain's `batch.maxSize` when this config names it.
   */
  batch: z
    .strictObject({
      maxSize: z.number().int().min(1).max(256).default(16),
      maxDelayMs: z.number().int().min(0).max(10_000).default(50),
    })
    .prefault({}),
});

export const gatekeeperSchema = z.strictObject({
  dataDir: z.string().min(1),
  /** Ed25519 public keys of simulated platforms this gatekeeper trusts (development only). */
  simPlatformCas: z.array(hex32).default([]),
  /** A production config that trusts `sim` quotes is refused unless this says so. */
  allowSimInProduction: z.boolean().default(false),
  acceptTcbStatuses: z.array(z.string()).default(['UpToDate']),
  /** Measurement rules (docs/attestation.md#measurement-policy), checked when the gatekeeper starts. */
  measurementRules: z.array(z.record(z.string(), z.unknown())).max(256).default([]),
  /** The lowest Intel TCB evaluation data number accepted in DCAP collateral. */
  minTcbEvaluationDataNumber: z.number().int().min(0).default(0),
  /** Registrations must prove quote freshness (default: in production mode). */
  requireQuoteFreshness: z.boolean().optional(),
  quoteMaxAgeSeconds: z
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  registrationTtlSeconds: z
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  /** The smallest approval threshold (k) this gatekeeper signs an EVM gatekeeper set with. */
  threshold: z.number().int().min(1).default(1),
  /** The `phala` chain (by name) whose registry it serves; default: the only one configured. */
  chain: name.optional(),
  /** This gatekeeper's own TEE: how it seals its keys and attests itself to other gatekeepers. */
  attestation: teePlatformSchema.optional(),
  /** Suri of the account that pays for its transactions; default: its enclave identity's ecdsa account. */
  account: secretSchema.optional(),
  /** Other gatekeeper builds (measurements) allowed to receive the master keys; its own build always is. */
  peerMeasurements: z.array(hex32).default([]),
  /** How long a backup gatekeeper waits per rank before doing work its primary did not do. */
  backupDelayMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** DCAP collateral (JSON, docs/attestation.md#collateral) for workers that register a bare quote. */
  collateralFile: z.string().min(1).optional(),
});

export const configSchema = z
  .strictObject({
    mode: z.enum(['development', 'production']).default('production'),
    chains: z.array(chainSchema).min(1),
    // `prefault`, here and in every section: an absent section is parsed as `{}`, so its defaults
    // are its fields' own, written once.
    redis: redisSchema.prefault({}),
    queues: queuesSchema.prefault({}),
    worker: workerSchema.optional(),
    gatekeeper: gatekeeperSchema.optional(),
    metrics: z.strictObject({ host, port: port.default(9464) }).prefault({}),
    /** The relayer's admin API (docs/operations.md#admin-api): a token is required beyond loopback and in production. */
    admin: z
      .strictObject({
        host,
        port: port.default(8090),
        token: secretSchema.optional(),
        /** Host names (Host header) the API answers to beside its listening host, localhost and IP literals. */
        allowedHosts: z.array(z.string().min(1).max(253)).default([]),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        pretty: z.boolean().optional(),
      })
      .prefault({}),
    shutdownGraceMs: z.number().int().min(0).default(30_000),
    checkpointFile: z.string().optional(),
    recordTape: z.string().optional(),
  })
  .superRefine((config, ctx) => {
    config.worker?.trust.evm.forEach((chain, i) => {
      if (chain.quorum > chain.endpoints.length)
        ctx.addIssue({
          code: 'custom',
          path: ['worker', 'trust', 'evm', i, 'quorum'],
          message: `quorum ${chain.quorum} is more than the ${chain.endpoints.length} endpoints given`,
        });
    });
    const names = new Set<string>();
    config.chains.forEach((chain, i) => {
      if (names.has(chain.name))
        ctx.addIssue({
          code: 'custom',
          path: ['chains', i, 'name'],
          message: `duplicate chain name ${chain.name}`,
        });
      names.add(chain.name);
    });
    if (!config.admin.token && (config.mode === 'production' || !isLoopbackHost(config.admin.host)))
      ctx.addIssue({
        code: 'custom',
        path: ['admin', 'token'],
        message: `admin.token is required ${config.mode === 'production' ? 'in production' : `when admin.host (${config.admin.host}) is not loopback`}: anyone who reaches the admin API can retry and drop requests`,
      });
    if (config.mode !== 'production') return;
    forEachSecret(config, (secret, path) => {
      if (secret.source === 'inline value') {
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'inline secret values are refused in production; use { env } or { file }',
        });
      }
    });
    if (
      config.gatekeeper &&
      config.gatekeeper.simPlatformCas.length > 0 &&
      !config.gatekeeper.allowSimInProduction
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['gatekeeper', 'simPlatformCas'],
        message:
          'production mode refuses simulated attestation unless gatekeeper.allowSimInProduction is true',
      });
    }
    if (config.gatekeeper?.attestation?.provider === 'sim' && !config.gatekeeper.allowSimInProduction) {
      ctx.addIssue({
        code: 'custom',
        path: ['gatekeeper', 'attestation', 'provider'],
        message: 'production mode refuses the sim attestation provider',
      });
    }
    config.worker?.trust.evm.forEach((chain, i) => {
      if (chain.quorum < 2 || chain.endpoints.length < 2)
        ctx.addIssue({
          code: 'custom',
          path: ['worker', 'trust', 'evm', i, 'quorum'],
          message:
            'production mode needs at least 2 agreeing endpoints (quorum ≥ 2); one endpoint is for development only',
        });
    });
    if (config.worker?.attestation.provider === 'sim' && !config.gatekeeper?.allowSimInProduction) {
      ctx.addIssue({
        code: 'custom',
        path: ['worker', 'attestation', 'provider'],
        message: 'production mode refuses the sim attestation provider',
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type EvmChainConfig = z.infer<typeof evmChainSchema>;
export type PhalaChainConfig = z.infer<typeof phalaChainSchema>;
export type ParachainConfig = z.infer<typeof parachainSchema>;
export type RedisConfig = z.infer<typeof redisSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type WorkerTrustConfig = z.infer<typeof workerTrustSchema>;
export type GatekeeperConfig = z.infer<typeof gatekeeperSchema>;

export function forEachSecret(
  value: unknown,
  visit: (secret: Secret, path: (string | number)[]) => void,
  path: (string | number)[] = [],
): void {
  if (value instanceof Secret) {
    visit(value, path);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) forEachSecret(item, visit, [...path, i]);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) forEachSecret(item, visit, [...path, key]);
  }
}
