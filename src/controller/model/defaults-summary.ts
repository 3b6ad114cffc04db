// The mesh's default retries in words, for the commands that show an operator what a service without a TrafficPolicy gets.

import { DEFAULT_DRAIN_QUIET_MS, DEFAULT_DRAIN_SECONDS } from '../../mesh/constants';
import { BEFORE_APP_RETRY_ON, DEFAULT_HEALTH_CHECK, DEFAULT_HEALTH_CHECK_NO_TRAFFIC_MS, DEFAULT_OUTLIER, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS, IDEMPOTENT_METHODS } from './defaults';

/**
 * One line per fact, each starting with two spaces: which conditions are retried for which methods,
 * how often and where, and the retry circuit breaker that follows from them (decisions 0006, 0015).
 */
export function retryDefaultsLines(): string[] {
  const r = DEFAULT_RETRIES;
  const beforeApp = r.retryOn.every((c) => BEFORE_APP_RETRY_ON.has(c));
  const lines = [`  retry on, every method: ${r.retryOn.join(',')} (the request never reached the app)`];
  if (r.idempotentRetryOn.length > 0) {
    lines.push(`  retry on, ${IDEMPOTENT_METHODS.join(', ')} only: also ${r.idempotentRetryOn.join(',')} (the request may have reached the app; these methods are idempotent)`);
    lines.push('  never replayed after it may have reached the app: POST, PATCH, CONNECT and every gRPC call; a body over 1 MiB');
  }
  lines.push(`  ${r.attempts} retries after a 25–250 ms jittered back-off, each on another host`);
  lines.push(
    beforeApp
      ? '  retry circuit breaker: no concurrent limit (the retries are bounded per request, and outlier detection ejects a failing host)'
      : '  retry circuit breaker: a retry budget of 20 % of the requests in flight, at least 3',
  );
  return lines;
}

/** The rest of a service's defaults without a TrafficPolicy: ejection, active health checks, the request timeout (decisions 0006, 0028). */
export function meshDefaultsLines(): string[] {
  const o = DEFAULT_OUTLIER;
  const h = DEFAULT_HEALTH_CHECK;
  return [
    ...retryDefaultsLines(),
    `  outlier detection: eject a host after ${o.consecutive5xx} consecutive 5xx or connect failures for ${o.baseEjectionTimeMs / 1000} s × its ejections, at most ${o.maxEjectionPercent} % of the hosts, swept every ${o.intervalMs / 1000} s`,
    `  active health check (HTTP and HTTP/2 ports): GET ${h.path} every ${h.intervalMs / 1000} s (also when idle: every ${DEFAULT_HEALTH_CHECK_NO_TRAFFIC_MS / 1000} s), timeout ${h.timeoutMs / 1000} s, out after ${h.unhealthyThreshold} failures (a 5xx, a reset or a timeout), back after ${h.healthyThreshold}`,
    `  request timeout: ${DEFAULT_TIMEOUT_MS / 1000} s, retries included`,
    `  at the app (inbound): ${IDEMPOTENT_METHODS.join(', ')} reset by the app before it answered are sent to it once more (its keep-alive close racing the sidecar's reuse)`,
    `  pod shutdown (the sidecar's preStop): serve until no new inbound request for ${DEFAULT_DRAIN_QUIET_MS / 1000} s (callers have the endpoint update; at most 60 % of ${DEFAULT_DRAIN_SECONDS} s), then stop accepting, GOAWAY / connection: close, wait for requests in flight`,
  ];
}
