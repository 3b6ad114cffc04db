// Probe rewriting: app probes go to the sidecar's health port, which runs the original probe locally.
//
// Under STRICT mTLS the kubelet's plaintext probe would be refused by the inbound listener, and a
// TCP probe would always succeed against the sidecar instead of the app. So HTTP, TCP and gRPC
// probes become `GET :15020/app-health/<container>/<kind>`; the original (port resolved to a number)
// travels to the sidecar in an env var. Exec probes are left alone.

import { APP_HEALTH_PATH_PREFIX, PORT_HEALTH } from '../src/mesh/constants';
import type { Container, JsonPatchOp, Probe } from './types';

export const PROBE_KINDS = [
  ['livenessProbe', 'liveness'],
  ['readinessProbe', 'readiness'],
  ['startupProbe', 'startup'],
] as const;

/** What the sidecar runs for one rewritten probe. */
export type AppProbe =
  | {
      readonly httpGet: {
        readonly port: number;
        readonly path: string;
        readonly scheme: 'HTTP' | 'HTTPS';
        readonly httpHeaders?: readonly { name: string; value: string }[];
      };
      readonly timeoutSeconds?: number;
    }
  | { readonly tcpSocket: { readonly port: number }; readonly timeoutSeconds?: number }
  | { readonly grpc: { readonly port: number; readonly service?: string }; readonly timeoutSeconds?: number };

export interface ProbeRewrite {
  readonly ops: JsonPatchOp[];
  /** `<container>/<kind>` → the original probe. */
  readonly probes: Record<string, AppProbe>;
}

const TIMING = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'] as const;

/** Resolves a probe port (number, or the name of one of the container's ports). */
function resolvePort(container: Container, port: unknown): number | null {
  if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return resolvePort(container, Number(port));
    const named = (container.ports ?? []).find((p) => p.name === port);
    if (named && typeof named.containerPort === 'number') return named.containerPort;
  }
  return null;
}

/** The sidecar's version of one probe, or null when it is left as it is. */
function original(container: Container, probe: Probe): AppProbe | null {
  const timeout = typeof probe.timeoutSeconds === 'number' ? { timeoutSeconds: probe.timeoutSeconds } : {};
  if (probe.httpGet) {
    if (probe.httpGet.host) return null; // probes another host: not ours to proxy
    const port = resolvePort(container, probe.httpGet.port);
    if (port === null) return null;
    const scheme = String(probe.httpGet.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? 'HTTPS' : 'HTTP';
    const headers = probe.httpGet.httpHeaders?.length ? { httpHeaders: probe.httpGet.httpHeaders } : {};
    return { httpGet: { port, path: probe.httpGet.path ?? '/', scheme, ...headers }, ...timeout };
  }
  if (probe.tcpSocket) {
    if (probe.tcpSocket.host) return null;
    const port = resolvePort(container, probe.tcpSocket.port);
    return port === null ? null : { tcpSocket: { port }, ...timeout };
  }
  if (probe.grpc) {
    const port = resolvePort(container, probe.grpc.port);
    if (port === null) return null;
    return { grpc: { port, ...(probe.grpc.service ? { service: probe.grpc.service } : {}) }, ...timeout };
  }
  return null; // exec probes run inside the container; nothing to rewrite
}

/** Rewrites the probes of `containers` (app containers, at their current indices in spec.containers). */
export function rewriteProbes(containers: readonly Container[]): ProbeRewrite {
  const ops: JsonPatchOp[] = [];
  const probes: Record<string, AppProbe> = {};
  containers.forEach((container, index) => {
    for (const [field, kind] of PROBE_KINDS) {
      const probe = container[field];
      if (!probe) continue;
      const app = original(container, probe);
      if (!app) continue;
      const rewritten: Probe = {};
      for (const k of TIMING) if (probe[k] !== undefined) rewritten[k] = probe[k];
      rewritten.httpGet = { path: `${APP_HEALTH_PATH_PREFIX}${container.name}/${kind}`, port: PORT_HEALTH, scheme: 'HTTP' };
      probes[`${container.name}/${kind}`] = app;
      ops.push({ op: 'replace', path: `/spec/containers/${index}/${field}`, value: rewritten });
    }
  });
  return { ops, probes };
}
