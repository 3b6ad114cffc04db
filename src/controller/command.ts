// The `ferry controller` and `ferry proxy-status` commands: flags → a running Controller; syncz → a table.

import { request } from 'node:http';
import { systemClock, type Clock } from '../clock/clock';
import { FerryError } from '../errors';
import { parseFlags, parseHostPort, UsageError } from '../flags/flags';
import { PORT_CONTROLLER_GRPC, PORT_CONTROLLER_XDS_PLAINTEXT } from '../mesh/constants';
import { Logger, type LogLevel } from '../observability/logger';
import type { SynczProxy } from './ads/syncz';
import { formatProxyStatus } from './admin/proxy-status';
import { CA_FLAGS, CA_FLAGS_USAGE, caFlagsFrom, controllerIdentityFromFlags } from './ca/ca-command';
import { Controller } from './controller';
import { retryDefaultsLines } from './model/defaults-summary';
import type { MeshModel } from './model/types';
import { FileRegistry } from './registry/file-registry';
import { createKubernetesRegistry } from './registry/kubernetes-registry';
import type { Registry } from './registry/registry';
import { MeshStats } from './stats/mesh-stats';
import { RegistryTargetSource } from './stats/targets';
import { createTranslator, nodeKey as defaultNodeKey } from './translate/translate-for-node';
import type { NodeKeyFn, Translator } from './types';

export const ADMIN_PORT_CONTROLLER = 15014;

/** The service range in bind mode: loopback, so each VIP can be bound on one machine. */
export const BIND_SERVICE_CIDR = '127.10.0.0/16';

export const CONTROLLER_USAGE = `usage: ferry controller --registry file:PATH|kubernetes [flags]

  --registry SRC               file:PATH (a YAML file or folder, watched) or kubernetes
  --kubeconfig FILE            kubeconfig for --registry kubernetes (default: in-cluster)
  --xds-address H:P            xDS for sidecars (default 127.0.0.1:${PORT_CONTROLLER_GRPC})
  --insecure-xds               serve --xds-address without TLS and without the CA (tests, trusted hosts)
${CA_FLAGS_USAGE}  --plaintext-xds-address H:P  optional plaintext xDS for proxyless gRPC (e.g. 127.0.0.1:${PORT_CONTROLLER_XDS_PLAINTEXT})
  --admin-address H:P          health, metrics and /debug (default 127.0.0.1:${ADMIN_PORT_CONTROLLER})
  --debounce-ms N              quiet period after a change before it is pushed (default 100)
  --max-debounce-ms N          bound on the push delay under steady change (default 1000)
  --service-cidr CIDR          file registry: range for Services without clusterIP
                               (default 10.96.0.0/16; 127.10.0.0/16 with --outbound-mode bind)
  --outbound-mode MODE         capture (default: iptables to 15001/15006) or bind (a local mesh
                               without iptables: sidecars bind each loopback service VIP:port and
                               their pod's own address; see docs/controller.md)
  --mtls-mode MODE             with --ca-dir: inbound mode of services no AccessPolicy covers,
                               PERMISSIVE (default: mTLS and plaintext) or STRICT (mTLS only)
  --access-log DEST            sidecars log every request and TCP connection: off (default), stdout,
                               or a file path in the sidecar's file system
  --access-log-format F        text (Envoy's default line, default) or json (one object per line)
  --stats-interval S           scrape every sidecar's metrics every S seconds for /api/stats and
                               ferry stat (default 5; 0: off)
  --stats-timeout S            per scrape (default 2, at most the interval)
  --stats-concurrency N        scrapes in flight at once (default 16)
  --log-level L                debug|info|warn|error (default info)

A service without a TrafficPolicy gets these retries (docs/controller.md):
${retryDefaultsLines().join('\n')}
`;

export const PROXY_STATUS_USAGE = `usage: ferry proxy-status [--controller-admin H:P] [--json]

Prints each connected proxy's xDS sync state per type: SYNCED, NOT SENT, STALE (sent, not yet
ACKed, or a push is pending) or NACKED (the proxy rejected the last response).
`;

/** What the controller needs that other modules provide; tests and the CLI may inject them. */
export interface ControllerDeps {
  readonly translate?: Translator<MeshModel>;
  readonly nodeKey?: NodeKeyFn;
  readonly kubernetesSource?: (opts: { kubeconfig: string | null; logger: Logger; clock: Clock }) => Registry;
  /** The one time source of the registry, the CA and the controller (default systemClock). */
  readonly clock?: Clock;
  /** Called with the bound ports once started (tests). */
  readonly onStarted?: (ports: { xds: number; plaintextXds: number | null; admin: number | null }) => void;
  /** Resolves to stop the controller (default: SIGTERM/SIGINT). */
  readonly stopSignal?: Promise<void>;
}

export async function controllerCommand(argv: string[], deps: ControllerDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, {
    registry: 'string',
    kubeconfig: 'string',
    'xds-address': 'string',
    'insecure-xds': 'boolean',
    'plaintext-xds-address': 'string',
    'admin-address': 'string',
    'debounce-ms': 'number',
    'max-debounce-ms': 'number',
    'service-cidr': 'string',
    'outbound-mode': 'string',
    'mtls-mode': 'string',
    'log-level': 'string',
    'access-log': 'string',
    'access-log-format': 'string',
    'stats-interval': 'number',
    'stats-timeout': 'number',
    'stats-concurrency': 'number',
    ...CA_FLAGS,
    help: 'boolean',
  });
  if (values.help) {
    process.stdout.write(CONTROLLER_USAGE);
    return 0;
  }
  const str = (k: string): string | null => (typeof values[k] === 'string' ? (values[k] as string) : null);
  const registry = str('registry');
  if (!registry) throw new UsageError('ferry controller needs --registry file:PATH or --registry kubernetes');
  if (!values['insecure-xds'] && !str('ca-dir')) {
    throw new UsageError('ferry controller needs --ca-dir DIR (mTLS and the mesh CA on --xds-address) or --insecure-xds');
  }
  if (values['insecure-xds'] && str('ca-dir')) {
    throw new UsageError('--insecure-xds and --ca-dir exclude each other: the CA is only served over TLS');
  }
  const debounceMs = typeof values['debounce-ms'] === 'number' ? values['debounce-ms'] : 100;
  if (debounceMs < 0) throw new UsageError('flag --debounce-ms: must be >= 0');
  const maxDebounceMs = typeof values['max-debounce-ms'] === 'number' ? values['max-debounce-ms'] : Math.max(1000, debounceMs * 10);
  if (maxDebounceMs < debounceMs) throw new UsageError('flag --max-debounce-ms: must be >= --debounce-ms');
  const level = (str('log-level') ?? process.env.FERRY_LOG_LEVEL ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'off'].includes(level)) throw new UsageError(`flag --log-level: ${JSON.stringify(level)} is not a level`);
  const clock = deps.clock ?? systemClock;
  const logger = new Logger('ferry.controller', level, undefined, clock);
  const outbound = str('outbound-mode') ?? 'capture';
  if (outbound !== 'capture' && outbound !== 'bind') throw new UsageError(`flag --outbound-mode: ${JSON.stringify(outbound)} is not capture or bind`);
  const mtlsMode = str('mtls-mode') ?? 'PERMISSIVE';
  if (mtlsMode !== 'PERMISSIVE' && mtlsMode !== 'STRICT') throw new UsageError(`flag --mtls-mode: ${JSON.stringify(mtlsMode)} is not PERMISSIVE or STRICT`);
  if (str('mtls-mode') !== null && !str('ca-dir')) throw new UsageError('flag --mtls-mode: needs --ca-dir (without the CA there are no workload certificates)');
  const trustDomain = str('trust-domain') ?? undefined;
  let serviceCidr = str('service-cidr') ?? undefined;
  if (outbound === 'bind') {
    serviceCidr ??= BIND_SERVICE_CIDR;
    // Bind mode serves only loopback VIPs: an allocation outside 127.0.0.0/8 could never be bound.
    if (!serviceCidr.startsWith('127.')) throw new UsageError(`flag --service-cidr: ${serviceCidr} must be a loopback range (127.0.0.0/8) with --outbound-mode bind`);
  }

  let source: Registry;
  if (registry.startsWith('file:')) {
    const path = registry.slice('file:'.length);
    if (!path) throw new UsageError('flag --registry: file: needs a path');
    // The registry gathers one write's file events (its own short quiet period); --debounce-ms applies to the model.
    source = new FileRegistry({ path, serviceCidr, trustDomain, logger: logger.child('registry'), clock });
  } else if (registry === 'kubernetes') {
    const make = deps.kubernetesSource ?? createKubernetesRegistry;
    source = make({ kubeconfig: str('kubeconfig'), logger: logger.child('registry'), clock });
  } else {
    throw new UsageError(`flag --registry: ${JSON.stringify(registry)} is not file:PATH or kubernetes`);
  }

  const accessLogDest = str('access-log') ?? 'off';
  const accessLogFormat = str('access-log-format') ?? 'text';
  if (accessLogFormat !== 'text' && accessLogFormat !== 'json') throw new UsageError(`flag --access-log-format: ${JSON.stringify(accessLogFormat)} is not text or json`);
  if (accessLogDest !== 'off' && accessLogDest !== 'stdout' && !accessLogDest.startsWith('/')) {
    throw new UsageError(`flag --access-log: ${JSON.stringify(accessLogDest)} is not off, stdout or an absolute file path`);
  }
  if (accessLogDest === 'off' && str('access-log-format') !== null) throw new UsageError('flag --access-log-format: needs --access-log stdout|PATH');
  const accessLog = accessLogDest === 'off' ? null : { path: accessLogDest, format: accessLogFormat } as const;

  // With the CA, sidecars hold workload certificates: mesh mTLS and AccessPolicy authorization.
  const mtls = str('ca-dir') !== null;
  const translate = deps.translate ?? createTranslator({ outbound, mtls, mtlsMode, trustDomain, accessLog });
  const nodeKey = deps.nodeKey ?? defaultNodeKey;

  const identity = await controllerIdentityFromFlags(
    caFlagsFrom(values, registry === 'kubernetes' ? { kubeconfig: str('kubeconfig') } : null),
    logger,
    clock,
  );

  const stats = meshStatsFromFlags(values, source, logger, clock);
  const controller = new Controller<MeshModel>({
    identity,
    source,
    translate,
    nodeKey,
    xdsAddress: parseHostPort('xds-address', str('xds-address') ?? `127.0.0.1:${PORT_CONTROLLER_GRPC}`),
    plaintextXdsAddress: str('plaintext-xds-address') ? parseHostPort('plaintext-xds-address', str('plaintext-xds-address')!) : null,
    adminAddress: parseHostPort('admin-address', str('admin-address') ?? `127.0.0.1:${ADMIN_PORT_CONTROLLER}`),
    debounceMs,
    maxDebounceMs,
    logger,
    clock,
    stats,
  });
  const ports = await controller.start();
  process.stdout.write(`ferry controller: xDS on ${ports.xds}${ports.plaintextXds !== null ? `, plaintext xDS on ${ports.plaintextXds}` : ''}, admin on ${ports.admin}\n`);
  deps.onStarted?.(ports);
  await (deps.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    }));
  await controller.stop();
  return 0;
}

/** --stats-*: the scraper behind /api/stats (null with --stats-interval 0). */
function meshStatsFromFlags(values: Record<string, unknown>, registry: Registry, logger: Logger, clock: Clock): MeshStats | null {
  const num = (k: string, d: number): number => (typeof values[k] === 'number' ? (values[k] as number) : d);
  const interval = num('stats-interval', 5);
  if (!(interval >= 0)) throw new UsageError('flag --stats-interval: must be >= 0 seconds (0: off)');
  if (interval === 0) return null;
  const timeout = num('stats-timeout', Math.min(2, interval));
  if (!(timeout > 0 && timeout <= interval)) throw new UsageError(`flag --stats-timeout: must be > 0 and at most --stats-interval (${interval} s)`);
  const concurrency = num('stats-concurrency', 16);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new UsageError('flag --stats-concurrency: must be an integer >= 1');
  return new MeshStats({
    source: (nodes) => new RegistryTargetSource(() => registry.model, nodes),
    clock,
    intervalMs: interval * 1000,
    timeoutMs: timeout * 1000,
    concurrency,
    logger: logger.child('stats'),
  });
}

function getJson(host: string, port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new FerryError('FERRY_ERR_ADMIN', `${path}: HTTP ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new FerryError('FERRY_ERR_ADMIN', `${path}: not JSON`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new FerryError('FERRY_ERR_ADMIN', `cannot reach the controller admin at ${host}:${port}: ${err.message}`, { cause: err })));
    req.end();
  });
}

export async function proxyStatusCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { 'controller-admin': 'string', json: 'boolean', help: 'boolean' });
  if (values.help) {
    process.stdout.write(PROXY_STATUS_USAGE);
    return 0;
  }
  const addr = parseHostPort('controller-admin', typeof values['controller-admin'] === 'string' ? values['controller-admin'] : `127.0.0.1:${ADMIN_PORT_CONTROLLER}`);
  const syncz = (await getJson(addr.host, addr.port, '/debug/syncz')) as SynczProxy[];
  process.stdout.write(values.json ? `${JSON.stringify(syncz, null, 2)}\n` : formatProxyStatus(syncz));
  return 0;
}

