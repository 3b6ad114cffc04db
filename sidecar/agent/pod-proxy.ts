// `ferry proxy` inside a pod: the bootstrap from the injected env, the health server, the proxy, and shutdown.
//
// `podProxyOptions` is the edge: env + flags → a validated BootstrapConfig, the health port and the
// app's probes. `startPodProxy` starts the health server first, then the proxy behind it.

import { parseFlags, parseHostPort, UsageError } from '../../src/flags/flags';
import { translateBootstrap } from '../../src/config/bootstrap';
import type { BootstrapConfig } from '../../src/config/types';
import { ENV_APP_PROBES, PORT_ADMIN, PORT_HEALTH, PORT_METRICS } from '../../src/mesh/constants';
import { rootLogger, type Logger, type LogLevel } from '../../src/observability/logger';
import { Proxy } from '../proxy';
import { parseAppProbes, type AppProbes } from './app-probes';
import { HealthServer } from './health-server';
import { podBootstrap, podEnvironment, type PodEnvironment } from './pod-bootstrap';
import { readFileSync } from 'node:fs';
import { IdentityManager } from '../identity/identity-manager';
import { ProxyMetrics } from '../../src/observability/metrics';
import { CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, TOKEN_FILE_NAME, TOKEN_MOUNT_PATH } from '../../src/mesh/constants';

export const POD_PROXY_USAGE = `usage: ferry proxy   (in a pod: configured from the injected FERRY_* environment)
  --controller-address A   the controller's xDS address (default $FERRY_CONTROLLER_ADDRESS)
  --labels L               pod labels for node metadata, JSON or k=v,… (default $FERRY_POD_LABELS)
  --service-cluster NAME   node.cluster (default <app label or service account>.<namespace>)
  --admin-port N           admin server on 127.0.0.1 (default ${PORT_ADMIN})
  --health-port N          health and app probes (default ${PORT_HEALTH})
  --health-host ADDR       address the health port binds (default: every address)
  --stats-address A        Prometheus metrics, "off" to disable (default 0.0.0.0:${PORT_METRICS})
  --drain-time-s S         how long SIGTERM waits for in-flight requests (default $FERRY_DRAIN_SECONDS or 5)
  --log-level LEVEL        debug | info | warn | error (default info)
  --ca-root-file F         mesh root certificate: with it the proxy gets its SPIFFE certificate from
                           the controller's CA and speaks mTLS (default $FERRY_CA_ROOT_FILE; unset: plaintext)
  --token-file F           the token that proves the workload's identity to the CA
                           (default $FERRY_TOKEN_FILE or the injected token mount)
  --controller-identity ID the controller's SPIFFE ID (the injector passes it; default
                           spiffe://<td>/ns/${DEFAULT_SYSTEM_NAMESPACE}/sa/ferry-controller)
`;

export interface PodProxyOptions {
  /** The validated config the Proxy runs (statsAddress set from --stats-address). */
  readonly bootstrap: BootstrapConfig;
  /** The Envoy v3 bootstrap object it came from (for config dumps and `envoy --mode validate`). */
  readonly bootstrapObject: Record<string, unknown>;
  readonly pod: PodEnvironment;
  readonly healthPort: number;
  /** Undefined: every address (the kubelet probes the pod IP). */
  readonly healthHost: string | undefined;
  readonly appProbes: AppProbes;
  readonly drainTimeoutMs: number;
  readonly logLevel: LogLevel | null;
  /** Set when the pod has a mesh root: get a certificate from the controller's CA. */
  readonly identity: { readonly rootCertPem: string; readonly tokenFile: string; readonly controllerSpiffeId: string } | null;
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'off'];

function port(values: Record<string, unknown>, flag: string, fallback: number): number {
  const v = values[flag] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new UsageError(`flag --${flag}: must be a port 0–65535, got ${String(v)}`);
  return v;
}

/** True when `ferry proxy` should run from the pod env: no --config/-c and FERRY_POD_NAME is set. */
export function isPodProxy(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): boolean {
  const hasConfig = argv.some((a) => a === '--config' || a === '-c' || a.startsWith('--config=') || a.startsWith('-c='));
  return !hasConfig && env.FERRY_POD_NAME !== undefined && env.FERRY_POD_NAME !== '';
}

/** Env + flags → what a pod's `ferry proxy` runs. Errors name the env var or flag. */
export function podProxyOptions(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): PodProxyOptions {
  const { values, positional } = parseFlags(argv, {
    'controller-address': 'string',
    labels: 'string',
    'service-cluster': 'string',
    'admin-port': 'number',
    'health-port': 'number',
    'health-host': 'string',
    'stats-address': 'string',
    'drain-time-s': 'number',
    'log-level': 'string',
    'ca-root-file': 'string',
    'token-file': 'string',
    'controller-identity': 'string',
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const pod = podEnvironment(env, {
    controllerAddress: values['controller-address'] as string | undefined,
    labels: values.labels as string | undefined,
    serviceCluster: values['service-cluster'] as string | undefined,
  });
  const bootstrapObject = podBootstrap(pod, { adminPort: port(values, 'admin-port', PORT_ADMIN), tls: null });
  let bootstrap = translateBootstrap(bootstrapObject, 'pod bootstrap');
  const stats = typeof values['stats-address'] === 'string' ? values['stats-address'] : `0.0.0.0:${PORT_METRICS}`;
  if (stats !== 'off' && stats !== '') bootstrap = Object.freeze({ ...bootstrap, statsAddress: Object.freeze(parseHostPort('stats-address', stats)) });
  const envDrain = env.FERRY_DRAIN_SECONDS ? Number(env.FERRY_DRAIN_SECONDS) : 5;
  const drain = typeof values['drain-time-s'] === 'number' ? values['drain-time-s'] : envDrain;
  if (!Number.isFinite(drain) || drain < 0) throw new UsageError(`drain time must be a number ≥ 0 (--drain-time-s or FERRY_DRAIN_SECONDS), got ${String(drain)}`);
  const level = values['log-level'];
  if (level !== undefined && !LEVELS.includes(String(level))) throw new UsageError(`flag --log-level: must be one of ${LEVELS.join(', ')}`);
  return Object.freeze({
    bootstrap,
    bootstrapObject,
    pod,
    healthPort: port(values, 'health-port', PORT_HEALTH),
    healthHost: typeof values['health-host'] === 'string' && values['health-host'] !== '' ? values['health-host'] : undefined,
    appProbes: parseAppProbes(env[ENV_APP_PROBES]),
    drainTimeoutMs: drain * 1000,
    logLevel: (level as LogLevel | undefined) ?? null,
    identity: podIdentity(values, env, pod),
  });
}

function podIdentity(values: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>, pod: PodEnvironment): PodProxyOptions['identity'] {
  const rootFile = (values['ca-root-file'] as string | undefined) ?? env.FERRY_CA_ROOT_FILE;
  if (!rootFile) return null;
  let rootCertPem: string;
  try {
    rootCertPem = readFileSync(rootFile, 'utf8');
  } catch (err) {
    throw new UsageError(`--ca-root-file / FERRY_CA_ROOT_FILE: cannot read ${rootFile}: ${(err as Error).message}`);
  }
  return Object.freeze({
    rootCertPem,
    tokenFile: (values['token-file'] as string | undefined) ?? env.FERRY_TOKEN_FILE ?? `${TOKEN_MOUNT_PATH}/${TOKEN_FILE_NAME}`,
    controllerSpiffeId:
      (values['controller-identity'] as string | undefined) ??
      `spiffe://${pod.trustDomain}/ns/${DEFAULT_SYSTEM_NAMESPACE}/sa/${CONTROLLER_SERVICE_ACCOUNT}`,
  });
}

export interface RunningPodProxy {
  readonly proxy: Proxy;
  readonly health: HealthServer;
  /** Resolves when the proxy is LIVE (first configuration received, or the initial fetch timed out). */
  readonly started: Promise<void>;
  /** Drains (up to the drain time), stops the proxy, then closes the health server. */
  stop(): Promise<void>;
}

/**
 * Starts the health server and returns once it listens; the proxy starts behind it (see `started`),
 * so the kubelet's startup probe gets 503, not a refused connection, while the proxy fetches its
 * configuration over ADS.
 */
export async function startPodProxy(opts: PodProxyOptions, logger: Logger = rootLogger.child('pod')): Promise<RunningPodProxy> {
  const id = opts.identity;
  const metrics = new ProxyMetrics();
  const identityManager = id
    ? {
        manager: new IdentityManager({
          caAddress: `${opts.pod.controller.host}:${opts.pod.controller.port}`,
          spiffeId: `spiffe://${opts.pod.trustDomain}/ns/${opts.pod.namespace}/sa/${opts.pod.serviceAccount}`,
          controllerSpiffeId: id.controllerSpiffeId,
          rootCertPem: id.rootCertPem,
          token: { file: id.tokenFile },
          metrics: metrics.registry,
          logger,
        }),
        controllerSpiffeId: id.controllerSpiffeId,
      }
    : null;
  const proxy = new Proxy(opts.bootstrap, { drainTimeoutMs: opts.drainTimeoutMs, identityManager, metrics });
  const health = new HealthServer({
    ready: () => proxy.state === 'LIVE' && proxy.identityReady,
    probes: opts.appProbes,
    port: opts.healthPort,
    host: opts.healthHost,
    target: { host: '127.0.0.1', podIp: opts.pod.podIp },
    logger,
  });
  await health.listen();
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await proxy.drainAndStop();
      await health.close();
    })());
  const started = proxy.start().catch(async (err: unknown) => {
    await stop().catch(() => undefined);
    throw err;
  });
  started.catch(() => undefined); // the caller awaits it; never an unhandled rejection
  return { proxy, health, started, stop };
}

/** `ferry proxy` in a pod: runs until SIGTERM/SIGINT, then drains and exits 0. */
export async function podProxyCommand(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(POD_PROXY_USAGE);
    return 0;
  }
  const opts = podProxyOptions(env, argv);
  if (opts.logLevel) rootLogger.setLevel(opts.logLevel);
  const running = await startPodProxy(opts);
  await running.started;
  const probes = [...opts.appProbes.keys()].join(', ') || 'none';
  process.stdout.write(
    `ferry proxy: LIVE as ${opts.pod.podName}.${opts.pod.namespace} (admin 127.0.0.1:${running.proxy.adminPort}, ` +
      `health :${running.health.port}, controller ${opts.pod.controller.host}:${opts.pod.controller.port}, app probes: ${probes})\n`,
  );
  return new Promise<number>((resolve) => {
    const shutdown = (): void => void running.stop().then(() => resolve(0));
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
