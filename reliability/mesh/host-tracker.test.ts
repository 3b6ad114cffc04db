// Table tests for the host tracker: ejection, return, first request after the return, host-set changes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostTracker, type HostRow } from './host-tracker';

const row = (ejected: boolean, total: number, status = 'HEALTHY'): HostRow => ({ ejected, healthy: !ejected, health_status: status, total_requests: total });

const CASES: { name: string; samples: (HostRow | null)[]; want: string[] }[] = [
  { name: 'a healthy host serving marks only its arrival', samples: [row(false, 1), row(false, 5), row(false, 9)], want: ['0 membership HEALTHY'] },
  {
    name: 'ejected, back, then served',
    samples: [row(false, 1), row(true, 6), row(true, 6), row(false, 6), row(false, 6), row(false, 7), row(false, 8)],
    want: ['0 membership HEALTHY', '1 ejected', '3 unejected', '5 served'],
  },
  { name: 'ejected again before it served', samples: [row(true, 1), row(false, 1), row(true, 1), row(false, 1), row(false, 2)], want: ['0 membership HEALTHY', '0 ejected', '1 unejected', '2 ejected', '3 unejected', '4 served'] },
  { name: 'a host gone from the cluster and back', samples: [row(false, 1), null, row(true, 2)], want: ['0 membership HEALTHY', '1 membership absent', '2 membership HEALTHY', '2 ejected'] },
  { name: 'EDS health changes are marked', samples: [row(false, 1), row(false, 1, 'UNHEALTHY'), row(false, 1)], want: ['0 membership HEALTHY', '1 membership UNHEALTHY', '2 membership HEALTHY'] },
];

for (const c of CASES) {
  test(`host tracker: ${c.name}`, () => {
    const t = new HostTracker();
    const got = c.samples.flatMap((s, i) => t.sample(s, i).map((e) => `${e.at} ${e.kind}${e.kind === 'membership' ? ` ${e.status}` : ''}`));
    assert.deepEqual(got, c.want);
  });
}
