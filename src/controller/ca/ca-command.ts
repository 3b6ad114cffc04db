// CLI glue for the mesh CA: `ferry token`, the controller's --ca-dir/--trust-domain/--token-key flags, and the token key file.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadIntermediateCa } from '../../../certs/intermediate-ca';
import { WorkloadIssuer } from '../../../certs/issuer';
import { buildSpiffeId } from '../../../certs/spiffe';
import { systemClock, type Clock } from '../../clock/clock';
import { parseFlags, UsageError } from '../../flags/flags';
import { ConfigError, FerryError } from '../../errors';
import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../../mesh/constants';
import type { Logger } from '../../observability/logger';
import { CaAuthenticator } from './authenticator';
import { CaDirWatcher } from './ca-dir-watcher';
import { MIN_TOKEN_KEY_BYTES, mintBootstrapToken } from './bootstrap-token';
import { ServingIdentity } from './serving-identity';
import { KubernetesTokenReviewer } from './token-review';

export const TOKEN_USAGE = `usage: ferry token --namespace NS --service-account SA --token-key FILE [--ttl-seconds N]

Prints a bootstrap token for a local-mesh workload: the sidecar sends it (FERRY_TOKEN_FILE) with its
CSR, and the controller that owns FILE (--token-key) signs a certificate for
spiffe://<trust-domain>/ns/NS/sa/SA. Default lifetime 86400 s. Treat the token as a secret.
`;

/** Lines for CONTROLLER_USAGE. */
export const CA_FLAGS_USAGE = `  --ca-dir DIR                 issuing CA from \`ferry certs intermediate\`: serve the CA and mTLS on --xds-address
  --trust-domain TD            SPIFFE trust domain (default ${DEFAULT_TRUST_DOMAIN})
  --system-namespace NS        namespace of the controller's own identity (default ${DEFAULT_SYSTEM_NAMESPACE})
  --token-key FILE             HMAC key for local-mesh bootstrap tokens (created, 0600, if missing)
  --workload-ttl-seconds N     maximum lifetime of a workload certificate: longer requests are shortened,
                               a CSR naming none gets it (default 86400; never past the CA's own expiry)
`;

/** Flag spec to merge into the controller's. */
export const CA_FLAGS = {
  'ca-dir': 'string',
  'trust-domain': 'string',
  'system-namespace': 'string',
  'token-key': 'string',
  'workload-ttl-seconds': 'number',
} as const;

/** Reads a token key file (base64 of at least 32 bytes). With `create`, writes a new random key (0600) if the file is missing. */
export async function loadTokenKey(file: string, create = false): Promise<Buffer> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) {
      throw new FerryError('FERRY_ERR_TOKEN_KEY', `${file}: cannot read the token key: ${(err as Error).message}`, { cause: err });
    }
    const key = randomBytes(MIN_TOKEN_KEY_BYTES);
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      await fs.writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (werr) {
      if ((werr as NodeJS.ErrnoException).code === 'EEXIST') return loadTokenKey(file, false); // another process won the race
      throw new FerryError('FERRY_ERR_TOKEN_KEY', `${file}: cannot write the token key: ${(werr as Error).message}`, { cause: werr });
    }
    return key;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length < MIN_TOKEN_KEY_BYTES) throw new FerryError('FERRY_ERR_TOKEN_KEY', `${file}: token key must be base64 of at least ${MIN_TOKEN_KEY_BYTES} bytes`);
  return key;
}

/** `ferry token`: prints one bootstrap token. */
export async function tokenCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), clock: Clock = systemClock): Promise<number> {
  const { values } = parseFlags(argv, { namespace: 'string', 'service-account': 'string', 'token-key': 'string', 'ttl-seconds': 'number', help: 'boolean' }, { n: 'namespace' });
  if (values.help) {
    out(TOKEN_USAGE);
    return 0;
  }
  const ns = values.namespace;
  const sa = values['service-account'];
  const keyFile = values['token-key'];
  if (typeof ns !== 'string' || typeof sa !== 'string' || typeof keyFile !== 'string') {
    throw new UsageError('ferry token needs --namespace, --service-account and --token-key');
  }
  const ttl = typeof values['ttl-seconds'] === 'number' ? values['ttl-seconds'] : 86_400;
  if (!(ttl >= 1)) throw new UsageError('flag --ttl-seconds: must be >= 1');
  try {
    buildSpiffeId(DEFAULT_TRUST_DOMAIN, ns, sa);
  } catch (err) {
    throw new UsageError(`--namespace/--service-account: ${(err as Error).message}`);
  }
  const key = await loadTokenKey(keyFile, false);
  out(`${mintBootstrapToken(key, { namespace: ns, serviceAccount: sa }, clock.wallNow(), ttl * 1000)}\n`);
  return 0;
}

export interface ControllerCaFlags {
  readonly caDir: string | null;
  readonly trustDomain: string | null;
  readonly systemNamespace: string | null;
  readonly tokenKey: string | null;
  readonly workloadTtlSeconds: number | null;
  /** Kubernetes registry: also accept projected ServiceAccount tokens through TokenReview. */
  readonly kubernetes: { readonly kubeconfig: string | null } | null;
}

/** Reads the controller's CA flags out of parsed values. */
export function caFlagsFrom(values: Record<string, string | boolean | number>, kubernetes: ControllerCaFlags['kubernetes']): ControllerCaFlags {
  const str = (k: string): string | null => (typeof values[k] === 'string' ? (values[k] as string) : null);
  const ttl = values['workload-ttl-seconds'];
  return {
    caDir: str('ca-dir'),
    trustDomain: str('trust-domain'),
    systemNamespace: str('system-namespace'),
    tokenKey: str('token-key'),
    workloadTtlSeconds: typeof ttl === 'number' ? ttl : null,
    kubernetes,
  };
}

/** The Controller's `identity` option from --ca-dir and friends; null without --ca-dir. `clock`: the CA's time source. */
export async function controllerIdentityFromFlags(flags: ControllerCaFlags, logger: Logger, clock: Clock = systemClock) {
  if (!flags.caDir) {
    if (flags.tokenKey) throw new UsageError('flag --token-key: needs --ca-dir (tokens are for the CA)');
    return null;
  }
  const trustDomain = flags.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const namespace = flags.systemNamespace ?? process.env.POD_NAMESPACE ?? DEFAULT_SYSTEM_NAMESPACE;
  try {
    buildSpiffeId(trustDomain, namespace, 'x');
  } catch (err) {
    throw new ConfigError('--trust-domain/--system-namespace', (err as Error).message, { cause: err });
  }
  const ttl = flags.workloadTtlSeconds;
  if (ttl !== null && !(ttl >= 1)) throw new UsageError('flag --workload-ttl-seconds: must be >= 1');
  const ca = await loadIntermediateCa(flags.caDir, clock.wallNow());
  // The flag is the ceiling for every certificate, and also what a request that names no lifetime gets.
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, ttl !== null ? { ttlMs: ttl * 1000, maxTtlMs: ttl * 1000, clock } : { clock });
  const bootstrapKeys = flags.tokenKey ? [await loadTokenKey(flags.tokenKey, true)] : [];
  if (bootstrapKeys.length === 0 && !flags.kubernetes) {
    throw new UsageError('the CA needs a way to authenticate workloads: --token-key FILE (local mesh) or --registry kubernetes (TokenReview)');
  }
  const reviewer = flags.kubernetes ? new KubernetesTokenReviewer({ kubeconfig: flags.kubernetes.kubeconfig }) : null;
  const authenticator = new CaAuthenticator({ trustDomain, bootstrapKeys, reviewer, clock });
  const serving = new ServingIdentity({ issuer, trustDomain, namespace, logger: logger.child('serving-identity'), clock });
  // `ferry certs rotate-root` edits the directory: roots and the issuing CA follow without a restart.
  const watcher = new CaDirWatcher({ dir: flags.caDir, issuer, serving, clock, logger: logger.child('ca-dir') });
  return { issuer, authenticator, serving, watcher };
}
