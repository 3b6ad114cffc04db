// Starts one proxy topology (a single hop or an A → B pair) of Ferry, Envoy or HAProxy and waits for its ports.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../src/errors';
import { httpHopBootstrap, manyServicesBootstrap, tcpHopBootstrap } from './envoy-bootstrap';
import { haproxyHttpHop, haproxyManyServices, haproxyTcpHop, type HaproxyTls } from './haproxy-config';
import type { MeshCertFiles } from './mesh-certs';
import { MANY_SERVICES } from './plan';
import { freePort, startProcess, waitForPort, type ManagedProcess } from './processes';
import type { ToolPaths } from './tools';
import type { ProxyName, Topology } from './types';

/** What the hop carries: one HTTP route, opaque TCP, or the 1,000-service configuration. */
export type HopKind = 'http' | 'tcp' | 'many';

export interface LaunchContext {
  readonly tools: ToolPaths;
  readonly repoRoot: string;
  /** Directory for generated configs and process logs. */
  readonly workDir: string;
  /** CPU the proxies are pinned to; null = unpinned. */
  readonly proxyCpu: number | null;
  /** A built Ferry tree of another commit, run as `ferry-baseline` (null: none). */
  readonly baselineRoot?: string | null;
}

export interface Chain {
  /** Port the client connects to (proxy A for a pair). */
  readonly entryPort: number;
  readonly procs: readonly ManagedProcess[];
}

interface HopPorts {
  readonly listenPort: number;
  readonly upstreamPort: number;
  readonly adminPort: number;
  readonly tls?: HaproxyTls;
}

/** mTLS settings of hop `hop` of a pair: A originates (client), B terminates (server); each checks the other's SPIFFE ID. */
export function pairHopTls(certs: MeshCertFiles, hop: 'a' | 'b'): HaproxyTls {
  const mine = certs[hop];
  const peer = certs[hop === 'a' ? 'b' : 'a'];
  return {
    role: hop === 'a' ? 'client' : 'server',
    certFile: mine.certFile,
    keyFile: mine.keyFile,
    combinedFile: mine.combinedFile,
    caFile: certs.caFile,
    peerSpiffeId: peer.spiffeId,
  };
}

let baseId = 100 + (process.pid % 10_000) * 10;

function configFor(proxy: Exclude<ProxyName, 'direct'>, kind: HopKind, hop: HopPorts, file: string): string {
  if (proxy === 'haproxy') {
    if (kind === 'http') return haproxyHttpHop(hop);
    if (kind === 'tcp') return haproxyTcpHop(hop);
    const mapPath = `${file}.map`;
    const many = haproxyManyServices({ listenPort: hop.listenPort, upstreamPort: hop.upstreamPort, services: MANY_SERVICES, mapPath });
    writeFileSync(mapPath, many.mapFile);
    return many.config;
  }
  // Envoy and Ferry load the very same Envoy v3 bootstrap.
  if (kind === 'http') return httpHopBootstrap(hop);
  if (kind === 'tcp') return tcpHopBootstrap(hop);
  return manyServicesBootstrap({ ...hop, services: MANY_SERVICES });
}

function command(ctx: LaunchContext, proxy: Exclude<ProxyName, 'direct'>, configPath: string): [string, string[]] {
  switch (proxy) {
    case 'envoy':
      baseId += 1;
      return [ctx.tools.envoy, ['-c', configPath, '--concurrency', '1', '--disable-hot-restart', '--base-id', String(baseId), '--log-level', 'warn']];
    case 'haproxy':
      return [ctx.tools.haproxy, ['-f', configPath, '-db']];
    case 'ferry':
      return [process.execPath, [path.join(ctx.repoRoot, 'bin', 'ferry'), 'proxy', '--config', configPath, '--concurrency', '1']];
    case 'ferry-baseline': {
      if (!ctx.baselineRoot) throw new FerryError('FERRY_ERR_BENCH_ARGS', 'ferry-baseline needs --baseline=DIR (a built Ferry tree)');
      return [process.execPath, [path.join(ctx.baselineRoot, 'bin', 'ferry'), 'proxy', '--config', configPath, '--concurrency', '1']];
    }
  }
}

/**
 * Starts the hop(s) of `topology` in front of `upstreamPort` (B first, then A pointing at B) and
 * waits until each listens. On failure every started process is stopped before the error propagates.
 */
export async function launchChain(
  ctx: LaunchContext,
  proxy: Exclude<ProxyName, 'direct'>,
  topology: Exclude<Topology, 'direct'>,
  kind: HopKind,
  upstreamPort: number,
  label: string,
  /** For a pair: mTLS between A and B with these files (null: plain text). */
  certs: MeshCertFiles | null = null,
): Promise<Chain> {
  const hops = topology === 'pair' ? ['b', 'a'] : ['a'];
  const procs: ManagedProcess[] = [];
  let next = upstreamPort;
  try {
    for (const hop of hops) {
      const listenPort = await freePort();
      const ext = proxy === 'haproxy' ? 'cfg' : 'yaml';
      const configPath = path.join(ctx.workDir, `${label}-${hop}.${ext}`);
      const adminPort = await freePort();
      const tls = certs !== null && hops.length > 1 ? pairHopTls(certs, hop as 'a' | 'b') : undefined;
      writeFileSync(configPath, configFor(proxy, kind, { listenPort, upstreamPort: next, adminPort, ...(tls ? { tls } : {}) }, configPath));
      const [cmd, args] = command(ctx, proxy, configPath);
      const p = startProcess({
        name: `${proxy}${hops.length > 1 ? ` (${hop.toUpperCase()})` : ''}`,
        command: cmd,
        args,
        cpu: ctx.proxyCpu,
        logPath: path.join(ctx.workDir, `${label}-${hop}.log`),
        tasksetPath: ctx.tools.taskset,
      });
      procs.push(p);
      await waitForPort(listenPort, 20_000, [p]);
      next = listenPort;
    }
    return { entryPort: next, procs };
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
}
