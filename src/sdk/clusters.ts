import type { Hex } from '../base/bytes.js';
import { BaseError, type Retry } from '../base/errors.js';
import * as registry from '../phala/actions/registry.js';
import type { PhalaClient } from '../phala/client.js';

export class ClusterChoiceError extends BaseError {
  /** Name the cluster (`cluster`, `--cluster`), or wait for a worker to be approved. */
  static override readonly retry: Retry = 'after-fix';
  override name = 'ClusterChoiceError';
  /** The clusters that approved workers serve now. */
  readonly clusters: Hex[];
  constructor(clusters: Hex[]) {
    super(
      clusters.length === 0
        ? 'No approved worker serves any cluster yet, so there is no cluster to deploy to.'
        : `Approved workers serve ${clusters.length} clusters: name one.`,
      { ...(clusters.length ? { metaMessages: clusters } : {}) },
    );
    this.clusters = clusters;
  }
}

export type GetServedClustersReturnType = Hex[];
export type GetServedClustersErrorType = Error;

/** The clusters that approved, unexpired workers serve now, from the chain's worker registry. */
export async function getServedClusters(client: PhalaClient): Promise<GetServedClustersReturnType> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const clusters = new Set<Hex>();
  for (const { info } of await registry.listWorkers(client))
    if (info.status.kind === 'approved' && BigInt(info.status.expiresAt) > now)
      clusters.add(info.cluster.toLowerCase() as Hex);
  return [...clusters].sort();
}

export type GetDefaultClusterReturnType = Hex;
export type GetDefaultClusterErrorType = ClusterChoiceError | Error;

/**
 * The cluster to deploy to when none is named: the only one approved workers serve (a devnet
 * has one). Throws ClusterChoiceError, listing them, when there are none or several.
 */
export async function getDefaultCluster(client: PhalaClient): Promise<GetDefaultClusterReturnType> {
  const clusters = await getServedClusters(client);
  if (clusters.length !== 1) throw new ClusterChoiceError(clusters);
  return clusters[0]!;
}
