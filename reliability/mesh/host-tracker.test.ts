// Table tests for the host tracker: ejection, return, first request after the return, host-set changes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostTracker, inRotationAt, type HostEvent, type HostRow } from './host-tracker';

const row = (ejected: boolean, total: number, status = 'HEALTHY'): HostRow => ({ ejected, healthy: !ejected, health_status: status, total_requests: total });

const CASES: { name: string; samples: (HostRow | null)[]; want: string[] }[] = [
  { name: 'a healthy host marks its arrival and its first request', samples: [row(false, 1), row(false, 5), row(false, 9)], want: ['0 membership HEALTHY', '1 served'] },
  {
    name: 'ejected, back, then served',
    samples: [row(false, 1), row(true, 6), row(true, 6), row(false, 6), row(false, 6), row(false, 7), row(false, 8)],
    want: ['0 membership HEALTHY', '1 ejected', '3 unejected', '5 served'],
  },
  { name: 'ejected again before it served', samples: [row(true, 1), row(false, 1), row(true, 1), row(false, 1), row(false, 2)], want: ['0 membership HEALTHY', '0 ejected', '1 unejected', '2 ejected', '3 unejected', '4 served'] },
  { name: 'a host gone from the cluster and back', samples: [row(false, 1), null, row(true, 2)], want: ['0 membership HEALTHY', '1 membership absent', '2 membership HEALTHY', '2 ejected'] },
  { name: 'removed, back in the host set, then served', samples: [row(false, 1), row(false, 2), null, null, row(false, 2), row(false, 3)], want: ['0 membership HEALTHY', '1 served', '2 membership absent', '4 membership HEALTHY', '5 served'] },
  { name: 'EDS health changes are marked', samples: [row(false, 1), row(false, 1, 'UNHEALTHY'), row(false, 1)], want: ['0 membership HEALTHY', '1 membership UNHEALTHY', '2 membership HEALTHY'] },
];

for (const c of CASES) {
  test(`host tracker: ${c.name}`, () => {
    const t = new HostTracker();
    const got = c.samples.flatMap((s, i) => t.sample(s, i).map((e) => `${e.at} ${e.kind}${e.kind === 'membership' ? ` ${e.status}` : ''}`));
    assert.deepEqual(got, c.want);
  });
}

const m = (at: number, status: string): HostEvent => ({ kind: 'membership', at, status });
const ej = (at: number): HostEvent => ({ kind: 'ejected', at });
const un = (at: number): HostEvent => ({ kind: 'unejected', at });

const ROTATION: { name: string; events: HostEvent[]; since: number; want: number | null }[] = [
  { name: 'unejected after the fault', events: [m(0, 'HEALTHY'), ej(10), un(40)], since: 25, want: 40 },
  { name: 'still ejected', events: [m(0, 'HEALTHY'), ej(10)], since: 25, want: null },
  { name: 'already back before since', events: [m(0, 'HEALTHY'), ej(10), un(20), m(30, 'HEALTHY')], since: 25, want: 25 },
  { name: 'back with no event after since', events: [m(0, 'HEALTHY'), ej(10), un(20)], since: 25, want: 25 },
  { name: 'removed, then added back', events: [m(0, 'HEALTHY'), m(5, 'absent'), m(35, 'HEALTHY')], since: 25, want: 35 },
  { name: 'added back but still ejected, then unejected', events: [m(0, 'HEALTHY'), ej(4), m(5, 'absent'), m(30, 'HEALTHY'), un(45)], since: 25, want: 45 },
  { name: 'never seen', events: [], since: 25, want: null },
  { name: 'UNKNOWN health (no health checks) serves', events: [m(0, 'UNKNOWN'), ej(10), un(40)], since: 25, want: 40 },
  { name: 'UNHEALTHY does not', events: [m(0, 'UNKNOWN'), m(10, 'UNHEALTHY')], since: 25, want: null },
];

for (const c of ROTATION) {
  test(`inRotationAt: ${c.name}`, () => assert.equal(inRotationAt(c.events, c.since), c.want));
}
