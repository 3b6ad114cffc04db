// Faults put into one pod for a scenario — a blackholed or lossy inbound port, netem delay and loss, an app answering 503 or slowly — each handed back with its undo, for the scenario's finally.
//
// Network faults live in the pod's own network namespace (its eth0, the raw table's PREROUTING, which
// sees a packet before the sidecar's capture redirects it), so the host and the other pods are not
// touched; the namespace and its rules go when the mesh stops, also if an undo never ran.

import { execFile } from 'node:child_process';
import { nsExec } from '../../src/os/netns';
import type { Mesh } from './mesh-up';

/** A fault in force; `undo()` removes it (idempotent) and throws when it could not. */
export interface PodFault {
  readonly what: string;
  undo(): void;
}

/** The host cannot make this fault (a missing tool or kernel module): the exact error, for the scenario to report. */
export class FaultUnavailableError extends Error {
  readonly code = 'FAULT_UNAVAILABLE';
}

/** The test app's fault control port (reliability/testdata/mesh/catalog.yaml, CONTROL_PORT). */
export const APP_CONTROL_PORT = 9901;

/** The iptables rule (raw PREROUTING, after `-I`/`-D`) that drops packets arriving on eth0 — to `port`, or every one (null) — all of them or a random share. */
export function dropRule(port: number | null, probability: number | null): string[] {
  if (!(probability === null || (probability > 0 && probability < 1))) throw new RangeError(`drop probability must be in (0, 1), got ${probability}`);
  return ['PREROUTING', '-i', 'eth0', ...(port === null ? [] : ['-p', 'tcp', '--dport', String(port)]),
    ...(probability === null ? [] : ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)]),
    '-m', 'comment', '--comment', 'ferry-chaos', '-j', 'DROP'];
}

function netnsOf(mesh: Mesh, pod: string): string {
  const ns = mesh.pod(pod).netns;
  if (!ns) throw new Error(`pod ${pod} has no network namespace`);
  return ns;
}

function once(what: string, undo: () => void): PodFault {
  let done = false;
  return {
    what,
    undo() {
      if (done) return;
      undo();
      done = true;
    },
  };
}

/** Drops every packet (probability null) or a random share of them arriving in the pod, to `port` or to any port (null: the pod is cut off). */
export function dropInbound(mesh: Mesh, pod: string, port: number | null, probability: number | null): PodFault {
  const ns = netnsOf(mesh, pod);
  const rule = dropRule(port, probability);
  nsExec(ns, 'iptables', ['-t', 'raw', '-I', ...rule]);
  const to = port === null ? 'every port' : `:${port}`;
  const what = probability === null ? `every packet to ${to} in ${pod} dropped (iptables raw DROP)` : `${Math.round(probability * 100)}% of packets to ${to} in ${pod} dropped (iptables statistic)`;
  return once(what, () => void nsExec(ns, 'iptables', ['-t', 'raw', '-D', ...rule]));
}

/** Packets the drop rules of this module have dropped in the pod (their counters). */
export function droppedPackets(mesh: Mesh, pod: string): number {
  const out = nsExec(netnsOf(mesh, pod), 'iptables', ['-t', 'raw', '-L', 'PREROUTING', '-v', '-x', '-n']);
  let n = 0;
  for (const line of out.split('\n')) if (line.includes('ferry-chaos')) n += Number(line.trim().split(/\s+/)[0]) || 0;
  return n;
}

/** `tc qdisc add dev eth0 root netem ARGS` in the pod (delay and loss of what the pod sends); FaultUnavailableError when tc or netem is missing. */
export function netem(mesh: Mesh, pod: string, args: readonly string[]): PodFault {
  const ns = netnsOf(mesh, pod);
  try {
    nsExec(ns, 'tc', ['qdisc', 'add', 'dev', 'eth0', 'root', 'netem', ...args]);
  } catch (err) {
    throw new FaultUnavailableError((err as Error).message);
  }
  return once(`netem ${args.join(' ')} on ${pod}'s eth0`, () => void nsExec(ns, 'tc', ['qdisc', 'del', 'dev', 'eth0', 'root']));
}

/** One call to the app's fault control inside the pod's namespace; resolves with its answer. */
function control(ns: string, query: string): Promise<string> {
  const script = `require('http').get('http://127.0.0.1:${APP_CONTROL_PORT}/fault${query}', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { process.stdout.write(b); process.exit(r.statusCode === 200 ? 0 : 1); }); }).on('error', (e) => { process.stderr.write(e.message); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`fault control ${query} in ${ns}: ${`${stderr}${stdout}`.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Makes the pod's app answer `status` (e.g. 503) to every request but its health check, or delay each
 * answer by `delayMs`, for `forMs`; the undo clears it at once.
 */
export async function appFault(mesh: Mesh, pod: string, f: { status: number; forMs: number } | { delayMs: number; forMs: number }): Promise<{ what: string; undo(): Promise<void> }> {
  const ns = netnsOf(mesh, pod);
  const query = 'status' in f ? `?status=${f.status}&for_ms=${f.forMs}` : `?delay_ms=${f.delayMs}&for_ms=${f.forMs}`;
  await control(ns, query);
  let done = false;
  return {
    what: 'status' in f ? `${pod} answers ${f.status} for ${f.forMs} ms` : `${pod} answers ${f.delayMs} ms late for ${f.forMs} ms`,
    async undo() {
      if (done) return;
      await control(ns, '');
      done = true;
    },
  };
}
