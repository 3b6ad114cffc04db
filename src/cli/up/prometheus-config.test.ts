// Table tests for `ferry up --prometheus-config`: the scrape jobs rendered from a run's state, and bad state named by its path.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { prometheusConfig, prometheusDuration } from './prometheus-config';

type Obj = Record<string, any>;

const CONTROLLER = { xds: '127.0.0.1:40001', admin: '127.0.0.1:40002', log: '/x/logs/ferry-system.controller.log' };

function pod(namespace: string, name: string, workload: string, ip: string, meshed = true): Obj {
  return {
    namespace,
    name,
    workload: `${name === workload ? 'Pod' : 'Deployment'} ${namespace}/${workload}`,
    ip,
    meshed,
    sidecar: meshed ? { admin: '127.0.0.1:1', stats: `${ip}:15090`, health: `${ip}:15020` } : null,
  };
}

const BIND = {
  mode: 'bind',
  dir: '/runs/run-abc',
  controller: CONTROLLER,
  outbound: { stats: '127.0.7.2:15090', log: '/x' },
  pods: [pod('demo', 'web-0', 'web', '127.0.7.10'), pod('demo', 'web-1', 'web', '127.0.7.11'), pod('plain', 'legacy-0', 'legacy', '127.0.7.12', false)],
};
const NETNS = { mode: 'netns', controller: { ...CONTROLLER, xds: '10.77.0.1:40001' }, outbound: null, pods: [pod('shop', 'cart-0', 'cart', '10.77.0.10')] };

/** job name → [target, labels] of each static config. */
function jobs(yaml: string): Map<string, [string, Obj][]> {
  const cfg = parse(yaml) as Obj;
  return new Map(cfg.scrape_configs.map((j: Obj) => {
    assert.equal(j.metrics_path, '/metrics', j.job_name);
    return [j.job_name, j.static_configs.map((s: Obj) => [s.targets.join(','), s.labels])];
  }));
}

test('scrape jobs: every sidecar (and the outbound proxy) with namespace/pod/workload, the controller\'s admin port; unmeshed pods left out', () => {
  const cases: { name: string; state: Obj; sidecars: [string, Obj][] }[] = [
    {
      name: 'bind mode',
      state: BIND,
      sidecars: [
        ['127.0.7.10:15090', { namespace: 'demo', pod: 'web-0', workload: 'web' }],
        ['127.0.7.11:15090', { namespace: 'demo', pod: 'web-1', workload: 'web' }],
        ['127.0.7.2:15090', { namespace: 'ferry-system', pod: 'ferry-outbound', workload: 'ferry-outbound' }],
      ],
    },
    { name: 'netns mode (no outbound proxy)', state: NETNS, sidecars: [['10.77.0.10:15090', { namespace: 'shop', pod: 'cart-0', workload: 'cart' }]] },
    { name: 'a bare Pod is its own workload', state: { ...NETNS, pods: [pod('shop', 'loadgen', 'loadgen', '10.77.0.11')] }, sidecars: [['10.77.0.11:15090', { namespace: 'shop', pod: 'loadgen', workload: 'loadgen' }]] },
    { name: 'no meshed pod', state: { ...NETNS, pods: [pod('plain', 'a-0', 'a', '10.77.0.10', false)] }, sidecars: [] },
  ];
  for (const c of cases) {
    const got = jobs(prometheusConfig(c.state));
    assert.deepEqual([...got.keys()], ['ferry-sidecars', 'ferry-controller'], c.name);
    assert.deepEqual(got.get('ferry-sidecars'), c.sidecars, c.name);
    assert.deepEqual(got.get('ferry-controller'), [['127.0.0.1:40002', { namespace: 'ferry-system', pod: 'ferry-controller', workload: 'ferry-controller' }]], c.name);
  }
});

test('the scrape interval: Prometheus durations, and a timeout never longer than the interval', () => {
  const cases: [number | undefined, string, string][] = [
    [undefined, '15s', '10s'],
    [1, '1s', '1s'],
    [0.5, '500ms', '500ms'],
    [10, '10s', '10s'],
    [60, '60s', '10s'],
  ];
  for (const [seconds, interval, timeout] of cases) {
    const g = (parse(prometheusConfig(BIND, { scrapeIntervalSeconds: seconds })) as Obj).global;
    assert.deepEqual(g, { scrape_interval: interval, scrape_timeout: timeout, evaluation_interval: interval }, String(seconds));
  }
  for (const bad of [0, -1, 0.0001, 1.0005, NaN, Infinity]) {
    assert.equal(prometheusDuration(bad), null, String(bad));
    assert.throws(() => prometheusConfig(BIND, { scrapeIntervalSeconds: bad }), /scrapeIntervalSeconds: .* is not a positive whole number of milliseconds/, String(bad));
  }
});

test('the config names the run folder it belongs to', () => {
  assert.match(prometheusConfig(BIND), /^# Prometheus scrape configuration for the ferry up run in \/runs\/run-abc\.$/m);
});

test('bad state is refused naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', [], /^state: must be an object$/],
    ['before the controller started', { ...BIND, controller: null }, /^state\.controller: is not set/],
    ['controller without admin', { ...BIND, controller: { xds: 'a:1' } }, /^state\.controller\.admin: must be a non-empty string, got undefined$/],
    ['pods missing', { ...BIND, pods: undefined }, /^state\.pods: must be a list$/],
    ['stats not host:port', { ...BIND, pods: [{ ...pod('demo', 'w', 'w', '127.0.0.9'), sidecar: { stats: '127.0.0.9' } }] }, /^state\.pods\[0\]\.sidecar\.stats: "127\.0\.0\.9" is not host:port$/],
    ['pod without workload', { ...BIND, pods: [BIND.pods[0], { ...BIND.pods[1], workload: '' }] }, /^state\.pods\[1\]\.workload: must be a non-empty string, got ""$/],
    ['workload not "Kind ns/name"', { ...BIND, pods: [{ ...BIND.pods[0], workload: 'web' }] }, /^state\.pods\[0\]\.workload: "web" is not "Kind namespace\/name"$/],
    ['outbound without stats', { ...BIND, outbound: {} }, /^state\.outbound\.stats: must be a non-empty string/],
  ];
  for (const [name, state, want] of cases) {
    assert.throws(() => prometheusConfig(state), (err: Error & { code?: string }) => {
      assert.match(err.message, want, name);
      assert.equal(err.code, 'FERRY_ERR_CONFIG', name);
      return true;
    });
  }
});
