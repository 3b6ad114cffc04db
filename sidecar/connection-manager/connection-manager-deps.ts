// What a connection manager is given by its listener: clusters, metrics, time, and where it sits.

import type { ProxyMetrics } from '../../src/observability/metrics';
import type { WorkloadLabels } from '../../src/observability/istio-labels';
import type { Logger } from '../../src/observability/logger';
import type { Clock } from '../../src/clock/clock';
import type { ClusterManager } from '../cluster/cluster-manager';
import type { RouteTable } from '../router/route-table';

export interface ConnectionManagerDeps {
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Monotonic milliseconds for filters and the router. */
  readonly now: () => number;
  readonly random: () => number;
  /** The connection manager's own time: request durations, stream and drain timers (default: the system clock). */
  readonly clock?: Clock;
  /** 'source' for outbound listeners, 'destination' for inbound (Istio's reporter label). */
  readonly reporter: string;
  /** This proxy's workload and namespace (source_workload labels). */
  readonly source?: WorkloadLabels;
  readonly listenerName: string;
  /** Resolves an RDS route configuration by name (dynamic config); null when unknown. */
  readonly routeConfigByName?: (name: string) => RouteTable | null;
  /** The listener's per_connection_buffer_limit_bytes: how much of a request body is kept for a retry. */
  readonly bufferLimitBytes?: number;
}
