// Where a run's pods and services live: a /24 per run, chosen so that runs side by side and the host's routes never clash.

import { createServer } from 'node:net';
import { ipToInt } from './plan';

export interface RunAddresses {
  /** Index of the run's /24s (10.213.N.0/24 pods, 10.214.N.0/24 services; or 127.0.N / 127.11.N in bind mode). */
  readonly n: number;
  readonly gateway: string;
  readonly firstPod: string;
  readonly firstVip: string;
  readonly serviceCidr: string;
  readonly prefixLen: number;
}

function overlaps(cidr: string, routed: readonly string[]): boolean {
  const [base] = cidr.split('/');
  const lo = ipToInt(base);
  const hi = lo + 255;
  return routed.some((r) => {
    const [ip, len] = r.split('/');
    const size = 2 ** (32 - Number(len ?? 32));
    const start = ipToInt(ip) - (ipToInt(ip) % size);
    return start <= hi && start + size - 1 >= lo && Number(len ?? 32) > 0;
  });
}

/** Netns mode: the first N (from a random start) whose pod and service /24s no route uses and no link `ferry-up<N>` holds. */
export function netnsAddresses(routed: readonly string[], taken: (n: number) => boolean, start = Math.floor(Math.random() * 200)): RunAddresses {
  for (let i = 0; i < 250; i++) {
    const n = ((start + i) % 250) + 1;
    if (taken(n) || overlaps(`10.213.${n}.0/24`, routed) || overlaps(`10.214.${n}.0/24`, routed)) continue;
    return { n, gateway: `10.213.${n}.1`, firstPod: `10.213.${n}.10`, firstVip: `10.214.${n}.10`, serviceCidr: `10.214.${n}.0/24`, prefixLen: 24 };
  }
  throw new Error('no free 10.213.N.0/24 for the pods (every N is routed or used by another run)');
}

/** Bind mode: loopback /24s; `taken` says which N another run uses. */
export function bindAddresses(taken: (n: number) => boolean, start = Math.floor(Math.random() * 200)): RunAddresses {
  for (let i = 0; i < 240; i++) {
    const n = ((start + i) % 240) + 10;
    if (taken(n)) continue;
    return { n, gateway: '127.0.0.1', firstPod: `127.0.${n}.10`, firstVip: `127.11.${n}.10`, serviceCidr: `127.11.${n}.0/24`, prefixLen: 8 };
  }
  throw new Error('no free 127.0.N.0/24 for the pods');
}

/** A port free on `host` right now (for bind mode's moved app ports). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
