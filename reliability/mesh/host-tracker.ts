// What a client sidecar does with one upstream host over time, from samples of its admin /clusters page: ejected, back in rotation, serving again.
//
// Pure: each sample is the host's row (null when the cluster has no such host) and the time the page
// was read; `sample()` answers the events it marks.

/** One host's row in a sidecar's `/clusters?format=json`. */
export interface HostRow {
  readonly ejected: boolean;
  readonly healthy: boolean;
  readonly health_status: string;
  readonly total_requests: number;
}

export type HostEvent =
  /** Outlier detection took the host out (`ejected` turned true). */
  | { readonly kind: 'ejected'; readonly at: number }
  /** It is in rotation again (`ejected` turned false). */
  | { readonly kind: 'unejected'; readonly at: number }
  /** The first request to it after it came back, from an ejection or into the host set (its request count grew while not ejected). */
  | { readonly kind: 'served'; readonly at: number }
  /** It left or joined the cluster's host set, or changed EDS health. */
  | { readonly kind: 'membership'; readonly at: number; readonly status: string };

const NONE: readonly HostEvent[] = Object.freeze([]);

/** EDS health statuses a host takes traffic in (UNKNOWN: no health information, as Envoy treats it). */
export function isServingStatus(status: string): boolean {
  return status === 'HEALTHY' || status === 'UNKNOWN';
}

export class HostTracker {
  private last: HostRow | null = null;
  private lastStatus = 'absent';
  private waitingToServe = false;

  sample(row: HostRow | null, at: number): readonly HostEvent[] {
    const status = row === null ? 'absent' : row.health_status;
    const out: HostEvent[] = [];
    if (status !== this.lastStatus) {
      out.push({ kind: 'membership', at, status });
      this.lastStatus = status;
      // Back in the host set (or healthy again): the next request to it is its first.
      if (isServingStatus(status)) this.waitingToServe = true;
    }
    if (row !== null) {
      const was = this.last;
      if (row.ejected && (was === null || !was.ejected)) {
        out.push({ kind: 'ejected', at });
        this.waitingToServe = false;
      } else if (!row.ejected && was !== null && was.ejected) {
        out.push({ kind: 'unejected', at });
        this.waitingToServe = true;
      } else if (!row.ejected && this.waitingToServe && was !== null && row.total_requests > was.total_requests) {
        out.push({ kind: 'served', at });
        this.waitingToServe = false;
      }
      this.last = row;
    }
    return out.length ? out : NONE;
  }
}

/**
 * When the host was in rotation (in the host set, healthy, not ejected) at or after `since`, replaying
 * `events` in order: `since` itself when it already was, else the first event that put it back; null
 * when it was not (yet).
 */
export function inRotationAt(events: readonly HostEvent[], since: number): number | null {
  let status = 'absent';
  let ejected = false;
  let reachedSince = false;
  for (const e of events) {
    if (e.at >= since && !reachedSince) {
      reachedSince = true;
      if (isServingStatus(status) && !ejected) return since;
    }
    if (e.kind === 'membership') status = e.status;
    else if (e.kind === 'ejected') ejected = true;
    else if (e.kind === 'unejected') ejected = false;
    if (e.at >= since && isServingStatus(status) && !ejected) return e.at;
  }
  return !reachedSince && isServingStatus(status) && !ejected ? since : null;
}
