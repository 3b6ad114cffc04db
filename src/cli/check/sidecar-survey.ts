// Which sidecars a check looks at (a `ferry up` run's state.json, or the controller's /api/targets) and one scrape of each.

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Clock } from '../../clock/clock';
import { FerryError } from '../../errors';
import { parsePrometheusText, type Sample } from '../../observability/prom-text';

/** A sidecar's metrics endpoint and the pod it belongs to. */
export interface SidecarTarget {
  /** namespace/pod */
  readonly pod: string;
  readonly address: string;
  readonly path: string;
}

export interface SidecarScrape {
  readonly target: SidecarTarget;
  readonly samples: readonly Sample[] | null;
  /** Why the scrape failed (samples is then null). */
  readonly error: string | null;
}

interface UpState {
  readonly pods?: { namespace: string; name: string; sidecar: { stats: string } | null }[];
  readonly outbound?: { stats: string } | null;
}

/** The sidecars of a `ferry up` run, from its state.json (readable while the controller is away). */
export function targetsFromState(file: string): SidecarTarget[] {
  let state: UpState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as UpState;
  } catch (err) {
    throw new FerryError('FERRY_ERR_CHECK_TARGETS', `${file}: not a ferry up state file: ${(err as Error).message}`, { cause: err });
  }
  const out: SidecarTarget[] = (state.pods ?? []).filter((p) => p.sidecar).map((p) => ({ pod: `${p.namespace}/${p.name}`, address: p.sidecar!.stats, path: '/stats/prometheus' }));
  if (state.outbound) out.push({ pod: 'ferry-system/ferry-outbound', address: state.outbound.stats, path: '/stats/prometheus' });
  return out;
}

/** The sidecars the controller scrapes: its Prometheus HTTP service-discovery list. */
export function targetsFromSd(groups: readonly { targets: string[]; labels: Record<string, string> }[]): SidecarTarget[] {
  return groups.flatMap((g) => g.targets.map((address) => ({ pod: `${g.labels.namespace ?? '?'}/${g.labels.pod ?? address}`, address, path: g.labels.__metrics_path__ ?? '/stats/prometheus' })));
}

function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** GET http://address/path, the body as text; rejects on a non-200 answer, an error or `timeoutMs`. */
export function httpGetText(address: string, path: string, timeoutMs: number, clock: Clock): Promise<string> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clock.clearTimeout(timer);
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
        else resolve(body);
      });
    });
    const timer = clock.setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clock.clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Scrapes every target once, all at once; a failure is recorded, not thrown. */
export function scrapeSidecars(targets: readonly SidecarTarget[], timeoutMs: number, clock: Clock): Promise<SidecarScrape[]> {
  return Promise.all(
    targets.map(async (target) => {
      try {
        return { target, samples: parsePrometheusText(await httpGetText(target.address, target.path, timeoutMs, clock)), error: null };
      } catch (err) {
        return { target, samples: null, error: `${target.address}${target.path}: ${(err as Error).message}` };
      }
    }),
  );
}
