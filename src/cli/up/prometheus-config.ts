// The Prometheus scrape configuration of a running `ferry up` mesh, rendered from its state.json.
//
// One static_configs job lists every sidecar's stats endpoint (the pods' sidecars and, in bind mode,
// the outbound proxy) with target labels namespace/pod/workload; a second job scrapes the
// controller's admin port. Pods that run without a sidecar export nothing and are left out.

import { stringify } from 'yaml';
import { ConfigError } from '../../errors';
import { PORT_METRICS } from '../../mesh/constants';

export const SIDECAR_JOB = 'ferry-sidecars';
export const CONTROLLER_JOB = 'ferry-controller';
/** Where the sidecars (`--stats-address`) and the controller's admin server answer. */
export const METRICS_PATH = '/metrics';
/** Prometheus' own default scrape interval. */
export const DEFAULT_SCRAPE_INTERVAL_SECONDS = 15;

export interface PrometheusConfigOptions {
  /** Seconds between scrapes, whole milliseconds (Prometheus durations have no finer unit). */
  readonly scrapeIntervalSeconds?: number;
}

interface Target {
  readonly address: string;
  readonly labels: { namespace: string; pod: string; workload: string };
}

/** `seconds` as a Prometheus duration (`15s`, `500ms`), or null if it is not a positive whole number of milliseconds. */
export function prometheusDuration(seconds: number): string | null {
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  const ms = Math.round(seconds * 1000);
  if (ms < 1 || Math.abs(ms - seconds * 1000) > 1e-6) return null;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/;

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, 'must be an object');
  return v as Record<string, unknown>;
}

function text(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${path}.${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function address(o: Record<string, unknown>, key: string, path: string): string {
  const v = text(o, key, path);
  if (!HOST_PORT.test(v)) throw new ConfigError(`${path}.${key}`, `${JSON.stringify(v)} is not host:port`);
  return v;
}

/** `Deployment shop/catalog` (how state.json names a pod's workload) → `catalog`, Istio's workload name. */
function workloadName(o: Record<string, unknown>, path: string): string {
  const v = text(o, 'workload', path);
  const m = /^[A-Za-z]+ [^/\s]+\/([^/\s]+)$/.exec(v);
  if (!m) throw new ConfigError(`${path}.workload`, `${JSON.stringify(v)} is not "Kind namespace/name"`);
  return m[1];
}

/** The scrape targets of a run's state (the object `ferry up` writes as state.json); a bad field is named by its path. */
export function scrapeTargets(state: unknown): { sidecars: Target[]; controller: Target } {
  const s = object(state, 'state');
  if (s.controller === null || s.controller === undefined) throw new ConfigError('state.controller', 'is not set: the controller has not started yet');
  const controller: Target = {
    address: address(object(s.controller, 'state.controller'), 'admin', 'state.controller'),
    labels: { namespace: 'ferry-system', pod: 'ferry-controller', workload: 'ferry-controller' },
  };
  const sidecars: Target[] = [];
  if (!Array.isArray(s.pods)) throw new ConfigError('state.pods', 'must be a list');
  s.pods.forEach((p: unknown, i: number) => {
    const path = `state.pods[${i}]`;
    const pod = object(p, path);
    if (pod.sidecar === null || pod.sidecar === undefined) return; // unmeshed: no stats endpoint
    sidecars.push({
      address: address(object(pod.sidecar, `${path}.sidecar`), 'stats', `${path}.sidecar`),
      labels: { namespace: text(pod, 'namespace', path), pod: text(pod, 'name', path), workload: workloadName(pod, path) },
    });
  });
  // Bind mode: the proxy that owns every service address reports the callers' side (reporter="source").
  if (s.outbound !== null && s.outbound !== undefined) {
    sidecars.push({
      address: address(object(s.outbound, 'state.outbound'), 'stats', 'state.outbound'),
      labels: { namespace: 'ferry-system', pod: 'ferry-outbound', workload: 'ferry-outbound' },
    });
  }
  return { sidecars, controller };
}

/** The prometheus.yml text for a run's state. */
export function prometheusConfig(state: unknown, options: PrometheusConfigOptions = {}): string {
  const seconds = options.scrapeIntervalSeconds ?? DEFAULT_SCRAPE_INTERVAL_SECONDS;
  const interval = prometheusDuration(seconds);
  if (interval === null) throw new ConfigError('scrapeIntervalSeconds', `${seconds} is not a positive whole number of milliseconds`);
  // Prometheus refuses a scrape timeout longer than the interval; its default is 10 s.
  const timeout = seconds >= 10 ? '10s' : interval;
  const { sidecars, controller } = scrapeTargets(state);
  const job = (name: string, targets: readonly Target[]): unknown => ({
    job_name: name,
    metrics_path: METRICS_PATH,
    static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels })),
  });
  const dir = typeof (state as { dir?: unknown }).dir === 'string' ? (state as { dir: string }).dir : null;
  const header = [
    `# Prometheus scrape configuration for the ferry up run${dir ? ` in ${dir}` : ''}.`,
    `# Job ${SIDECAR_JOB}: every sidecar's stats endpoint (port ${PORT_METRICS}); job ${CONTROLLER_JOB}: the controller's admin port.`,
    '# Start it with: prometheus --config.file=THIS_FILE --web.listen-address=127.0.0.1:9090',
  ];
  const body = stringify(
    {
      global: { scrape_interval: interval, scrape_timeout: timeout, evaluation_interval: interval },
      scrape_configs: [job(SIDECAR_JOB, sidecars), job(CONTROLLER_JOB, [controller])],
    },
    { lineWidth: 0 },
  );
  return `${header.join('\n')}\n${body}`;
}
