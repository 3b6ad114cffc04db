// Which sidecars hold up a root rotation step, and why, from their scrapes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from '../observability/prom-text';
import type { SidecarScrape } from './check/sidecar-survey';
import { sidecarsNotReady } from './rotate-root-command';

function scrape(pod: string, text: string | null): SidecarScrape {
  return { target: { pod, address: '10.0.0.1:15090', path: '/stats/prometheus' }, samples: text === null ? null : parsePrometheusText(text), error: text === null ? 'ECONNREFUSED' : null };
}

const OLD = 'AA:AA';
const NEW = 'BB:BB';
const sidecar = (root: string, trusted: string[]): string =>
  [`ferry_identity_cert_info{serial="01",root="${root}"} 1`, ...trusted.map((r) => `ferry_identity_trusted_root_info{root="${r}"} 1`)].join('\n');

test('sidecarsNotReady: switch waits for every sidecar to trust the new root, remove-old for every certificate under it; unreachable ones hold both up', () => {
  const scrapes = [
    scrape('shop/a', sidecar(OLD, [OLD])),
    scrape('shop/b', sidecar(OLD, [OLD, NEW])),
    scrape('shop/c', sidecar(NEW, [OLD, NEW])),
    scrape('shop/d', null),
  ];
  assert.deepEqual(sidecarsNotReady('switch', scrapes, NEW), ['shop/a (trusts AA:AA; not renewed since add)', 'shop/d (cannot tell: ECONNREFUSED)']);
  assert.deepEqual(sidecarsNotReady('remove-old', scrapes, NEW), [
    'shop/a (certificate 01 under AA:AA; not renewed since switch)',
    'shop/b (certificate 01 under AA:AA; not renewed since switch)',
    'shop/d (cannot tell: ECONNREFUSED)',
  ]);
  assert.deepEqual(sidecarsNotReady('remove-old', [scrapes[2]], NEW), []);
});
