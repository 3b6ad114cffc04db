// docs/metrics.md names every sidecar metric with its labels, as the catalogue declares them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_METRIC_LABELS } from './identity-metrics';
import { ProxyMetrics, REQUEST_LABELS, TCP_LABELS } from './metrics';

const DOC = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'metrics.md'), 'utf8');

function rows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of DOC.split('\n')) {
    const m = /^\| `(ferry_[a-z_]+)` \| [a-z]+ \|([^|]*)\|/.exec(line);
    if (!m) continue;
    const cell = m[2]!.trim();
    const labels = cell === 'REQUEST' ? [...REQUEST_LABELS] : cell === 'TCP' ? [...TCP_LABELS] : [...cell.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!);
    out.set(m[1]!, labels);
  }
  return out;
}

test('every metric of the catalogue is in docs/metrics.md with exactly its labels, and nothing else is', () => {
  const metrics = new ProxyMetrics();
  const declared = new Map<string, string[]>();
  for (const v of Object.values(metrics)) {
    const x = v as { name?: unknown; labelNames?: unknown };
    if (typeof x.name === 'string' && Array.isArray(x.labelNames)) declared.set(x.name, [...(x.labelNames as string[])]);
  }
  declared.set('ferry_config_loaded_timestamp_seconds', []);
  for (const [name, labels] of Object.entries(IDENTITY_METRIC_LABELS)) declared.set(name, [...labels]);
  const documented = rows();
  for (const [name, labels] of declared) {
    assert.ok(documented.has(name), `${name} is missing from docs/metrics.md`);
    assert.deepEqual(documented.get(name), labels, `${name}: the labels in docs/metrics.md`);
  }
  for (const name of documented.keys()) assert.ok(declared.has(name), `docs/metrics.md lists ${name}, which the catalogue does not declare`);
});

test('the label paragraph and the label table name every request label', () => {
  for (const l of REQUEST_LABELS) assert.ok(DOC.includes(`\`${l}\``), `${l} is not in docs/metrics.md`);
  const table = DOC.slice(DOC.indexOf("## Where each label's value comes from"));
  for (const l of REQUEST_LABELS) {
    if (l === 'reporter') continue;
    const prefix = l.replace(/_(name|namespace)$/, '');
    assert.ok(table.includes(`\`${l}\``) || table.includes(`\`${prefix}\``) || table.includes(`\`_${l.split('_').at(-1)}\``), `${l} has no row saying where its value comes from`);
  }
});
