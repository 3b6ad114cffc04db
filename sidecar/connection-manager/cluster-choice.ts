// The cluster a routed request goes to: the route action's cluster, the cluster named by a request
// header, or a weighted pick. One decision for plain requests and upgrades alike.

import type { RouteActionConfig } from '../../src/config/types';
import { headerValue } from '../http/headers';
import { pickWeightedCluster } from '../router/route-actions';

type HeaderRecord = Record<string, string | string[] | undefined>;

/**
 * The cluster name for a request on a route with this action, or null when the action names none
 * (no `cluster_header` in the request): the caller answers 503 NC. In Envoy's order of the
 * cluster_specifier: `cluster`, else `cluster_header` (several values are joined with commas, and
 * an empty value names no existing cluster), else `weighted_clusters` (one draw of `random`).
 */
export function chooseCluster(action: RouteActionConfig, headers: HeaderRecord, random: () => number): string | null {
  if (action.cluster !== null) return action.cluster;
  if (action.clusterHeader !== null) {
    const named = headerValue(headers, action.clusterHeader);
    if (named !== undefined) return named;
  }
  return action.weightedClusters !== null ? pickWeightedCluster(action, random) : null;
}
