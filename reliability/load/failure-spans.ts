// When a run's failures were sent and how long they took, by reason: which part of a fault each kind of failure came from.
//
// Pure, over the load client's records (see outcomes.ts).

import { failureReason, isOk, percentile, type RequestRecord } from './outcomes';

export interface FailureSpan {
  readonly count: number;
  /** The first and the last send of a request failed so, ms from `originMs`. */
  readonly firstSentMs: number;
  readonly lastSentMs: number;
  /** Their median latency, ms. */
  readonly p50Ms: number;
}

/** The failed requests grouped by reason; send times relative to `originMs` (a fault's start). */
export function failureSpans(records: readonly RequestRecord[], originMs: number): Record<string, FailureSpan> {
  const by = new Map<string, RequestRecord[]>();
  for (const r of records) {
    if (isOk(r)) continue;
    const k = failureReason(r);
    let list = by.get(k);
    if (list === undefined) by.set(k, (list = []));
    list.push(r);
  }
  const out: Record<string, FailureSpan> = {};
  for (const [k, list] of [...by].sort((a, b) => b[1].length - a[1].length)) {
    let first = Infinity;
    let last = -Infinity;
    for (const r of list) {
      first = Math.min(first, r.at);
      last = Math.max(last, r.at);
    }
    out[k] = { count: list.length, firstSentMs: Math.round(first - originMs), lastSentMs: Math.round(last - originMs), p50Ms: Math.round(percentile(list.map((r) => r.latencyMs), 50)!) };
  }
  return out;
}

/** `504 UT: 100 sent 0.0–1.5 s, p50 15.0 s; …` for a scenario's figures. */
export function describeSpans(spans: Record<string, FailureSpan>): string {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  return Object.entries(spans).map(([k, v]) => `${k}: ${v.count} sent ${s(v.firstSentMs)}–${s(v.lastSentMs)} s, p50 ${s(v.p50Ms)} s`).join('; ') || 'none';
}
