// Config churn on a `ferry up` registry: edits at a steady rate that change what the controller pushes but never which endpoints serve.
//
// Each edit lays the churn's state for its step over the registry as it is now (ferry up rewrites the
// file on every readiness change, dropping the churn's objects; the next edit puts them back):
// - an extra EndpointSlice of the target service, one endpoint at a real replica's address that is
//   never ready: not serving, or serving and terminating, in turn (a pod on its way out);
// - the zone of each real endpoint of the target service, moving them between localities;
// - an unrelated Service on the target's port (so the listener carrying the load is the one updated)
//   with 1–4 endpoints at unused addresses, present for a second and gone for the next.
// Every write is whole and atomic (temporary file, then rename).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Clock } from '../../src/clock/clock';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Names of the churn's own objects start with this. */
export const CHURN_PREFIX = 'churn-';
/** Zones the real endpoints move between ('' is none). */
const ZONES = ['', 'churn-zone-a', 'churn-zone-b'] as const;
/** Steps the extra Service stays present, then absent. */
const EXTRA_PERIOD = 50;

export interface ChurnTarget {
  readonly namespace: string;
  /** The service under load. */
  readonly service: string;
  /** Its port (the extra Service takes the same one). */
  readonly port: number;
  /** Addresses of its real replicas (the extra endpoint takes one of them). */
  readonly replicaIps: readonly string[];
  /**
   * At least 4 addresses on the pods' own subnet that no pod holds, for the extra Service's endpoints:
   * a health check to one gets no ARP answer, so nothing leaves the mesh's network.
   */
  readonly spareIps: readonly string[];
}

interface RegistryEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string };
}

interface RegistryObject {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  addressType?: string;
  ports?: { name?: string; port: number; protocol?: string }[];
  endpoints?: RegistryEndpoint[];
}

export interface RegistryList {
  apiVersion: string;
  kind: string;
  items: RegistryObject[];
}

function isChurn(o: RegistryObject): boolean {
  return o.metadata.name.startsWith(CHURN_PREFIX);
}

function targetSlice(o: RegistryObject, t: ChurnTarget): boolean {
  return o.kind === 'EndpointSlice' && (o.metadata.namespace ?? 'default') === t.namespace && o.metadata.labels?.[SERVICE_NAME_LABEL] === t.service;
}

/** The extra Service is present at this step (and its slice with it). */
export function extraPresent(step: number): boolean {
  return Math.floor(step / EXTRA_PERIOD) % 2 === 0;
}

/** The registry with the churn's state for `step` in place of any earlier churn; `base` is not modified. */
export function churnStep(base: RegistryList, step: number, t: ChurnTarget): RegistryList {
  if (t.replicaIps.length === 0) throw new RangeError('churn: the target has no replica');
  if (t.spareIps.length < 4) throw new RangeError('churn: need 4 spare addresses');
  const items: RegistryObject[] = [];
  let real = 0;
  for (const o of base.items) {
    if (isChurn(o)) continue;
    if (!targetSlice(o, t)) {
      items.push(o);
      continue;
    }
    // A real endpoint's conditions and address stay; only its zone moves.
    const endpoints = (o.endpoints ?? []).map((e) => {
      const zone = ZONES[(step + real++) % ZONES.length];
      const { zone: _old, ...rest } = e;
      return zone === '' ? rest : { ...rest, zone };
    });
    items.push({ ...o, endpoints });
  }
  const port = { name: 'http', port: t.port, protocol: 'TCP' };
  const terminating = step % 2 === 1;
  items.push({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${CHURN_PREFIX}${t.service}`, namespace: t.namespace, labels: { [SERVICE_NAME_LABEL]: t.service, 'churn-step': String(step) } },
    addressType: 'IPv4',
    ports: [port],
    endpoints: [
      {
        addresses: [t.replicaIps[step % t.replicaIps.length]],
        conditions: terminating ? { ready: false, serving: true, terminating: true } : { ready: false, serving: false, terminating: false },
        zone: ZONES[1 + (step % 2)],
      },
    ],
  });
  if (extraPresent(step)) {
    const name = `${CHURN_PREFIX}extra`;
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: t.namespace }, spec: { ports: [{ name: 'http', port: t.port, targetPort: t.port }] } });
    const n = 1 + (step % 4);
    items.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: t.namespace, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: 'IPv4',
      ports: [port],
      endpoints: t.spareIps.slice(0, n).map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
  }
  return { ...base, items };
}

/** The addresses of the target's endpoints that serve (ready, not terminating), sorted: what its load assignment must hold. */
export function servingAddresses(list: RegistryList, t: ChurnTarget): string[] {
  const out = new Set<string>();
  for (const o of list.items) {
    if (!targetSlice(o, t)) continue;
    for (const e of o.endpoints ?? []) {
      const c = e.conditions ?? {};
      if ((c.ready ?? true) && !(c.terminating ?? false)) for (const a of e.addresses) out.add(a);
    }
  }
  return [...out].sort();
}

export interface ChurnFigures {
  /** Edits written (each a whole registry, renamed into place). */
  readonly written: number;
  /** Slots skipped because the driver fell more than a second behind its schedule. */
  readonly skipped: number;
  /** Times the file was not what the driver last wrote: ferry up rewrote it in between. */
  readonly rewrittenMeanwhile: number;
  /** The run's length (ms) and the edits per second actually written. */
  readonly elapsedMs: number;
  readonly ratePerS: number;
  /** The step of the last edit (its state is the registry's churn state at the end). */
  readonly lastStep: number;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.churn.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Edits `file` at `ratePerS` for `durationMs`: edit i is due at start + i / rate (time-based pacing,
 * bounded by the duration); a driver more than a second behind skips the slots it missed.
 */
export async function churnRegistry(file: string, t: ChurnTarget, o: { ratePerS: number; durationMs: number; clock: Clock }): Promise<ChurnFigures> {
  if (!(o.ratePerS > 0) || !(o.durationMs > 0)) throw new RangeError('churn: need a rate and a duration above 0');
  const intervalMs = 1000 / o.ratePerS;
  const start = o.clock.now();
  const slots = Math.floor((o.durationMs * o.ratePerS) / 1000);
  let written = 0;
  let skipped = 0;
  let rewritten = 0;
  let lastText: string | null = null;
  let step = 0;
  let lastStep = -1;
  while (step < slots) {
    const due = start + step * intervalMs;
    const now = o.clock.now();
    if (now < due) {
      await new Promise<void>((r) => o.clock.setTimeout(r, due - now));
      continue;
    }
    if (now - due > 1000) {
      const caughtUp = Math.min(slots, Math.floor((now - start) / intervalMs));
      skipped += caughtUp - step;
      step = caughtUp;
      if (step >= slots) break;
    }
    const text = readFileSync(file, 'utf8');
    if (lastText !== null && text !== lastText) rewritten++;
    const out: string = `${JSON.stringify(churnStep(JSON.parse(text) as RegistryList, step, t), null, 1)}\n`;
    writeAtomic(file, out);
    lastText = out;
    written++;
    lastStep = step;
    step++;
  }
  const elapsedMs = o.clock.now() - start;
  return { written, skipped, rewrittenMeanwhile: rewritten, elapsedMs: Math.round(elapsedMs), ratePerS: Math.round((written / elapsedMs) * 10_000) / 10, lastStep };
}
