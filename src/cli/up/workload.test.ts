// Workloads for ferry up: replicas from Deployments, and every field it cannot honour refused with its path.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../errors';
import { podTemplates } from './workload';

type Json = Record<string, any>;

function deployment(edit: (d: Json) => void = () => undefined): Json {
  const d: Json = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'x', command: ['node', 'web.js'], ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
  edit(d);
  return d;
}

test('a Deployment gives one pod per replica, named <deployment>-<i>, with the template labels and service account', () => {
  const pods = podTemplates(deployment());
  assert.deepEqual(pods.map((p) => [p.workload, p.pod.metadata.name, p.pod.metadata.namespace, p.pod.metadata.labels.app, p.pod.spec?.serviceAccountName]), [
    ['Deployment shop/web', 'web-0', 'shop', 'web', 'web'],
    ['Deployment shop/web', 'web-1', 'shop', 'web', 'web'],
  ]);
  const pod = podTemplates({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one' }, spec: { containers: [{ name: 'c', command: ['true'] }] } });
  assert.deepEqual([pod[0].pod.metadata.namespace, pod[0].pod.spec?.serviceAccountName], ['default', 'default']);
});

const C = 'spec.template.spec.containers[0]';
const rejected: [string, (d: Json) => void, string, string][] = [
  ['volumes', (d) => (d.spec.template.spec.volumes = [{ name: 'v' }]), 'spec.template.spec.volumes', 'is not supported by ferry up'],
  ['volumeMounts', (d) => (d.spec.template.spec.containers[0].volumeMounts = []), `${C}.volumeMounts`, 'is not supported by ferry up'],
  ['no command', (d) => delete d.spec.template.spec.containers[0].command, `${C}.command`, 'is required: ferry up runs the command'],
  ['exec probe', (d) => (d.spec.template.spec.containers[0].readinessProbe = { exec: { command: ['true'] } }), `${C}.readinessProbe.exec`, 'is not supported'],
  ['two probe kinds', (d) => (d.spec.template.spec.containers[0].readinessProbe = { tcpSocket: { port: 80 }, grpc: { port: 80 } }), `${C}.readinessProbe`, 'has tcpSocket and grpc: give one'],
  ['grpc probe without a port', (d) => (d.spec.template.spec.containers[0].livenessProbe = { grpc: { service: 's' } }), `${C}.livenessProbe.grpc.port`, 'is required'],
  ['bad probe header', (d) => (d.spec.template.spec.containers[0].readinessProbe = { httpGet: { port: 80, httpHeaders: [{ name: 'x' }] } }), `${C}.readinessProbe.httpGet.httpHeaders[0]`, 'needs a name and a string value'],
  ['probe scheme', (d) => (d.spec.template.spec.containers[0].readinessProbe = { httpGet: { port: 80, scheme: 'FTP' } }), `${C}.readinessProbe.httpGet.scheme`, 'FTP is not HTTP or HTTPS'],
  ['UDP port', (d) => (d.spec.template.spec.containers[0].ports[0].protocol = 'UDP'), `${C}.ports[0].protocol`, 'UDP is not supported'],
  ['env from a secret', (d) => (d.spec.template.spec.containers[0].env = [{ name: 'X', valueFrom: { secretKeyRef: {} } }]), `${C}.env[0].valueFrom.secretKeyRef`, 'is not supported'],
  ['unknown fieldRef', (d) => (d.spec.template.spec.containers[0].env = [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }]), `${C}.env[0].valueFrom.fieldRef.fieldPath`, 'is not supported'],
  ['selector mismatch', (d) => (d.spec.selector.matchLabels.app = 'other'), 'spec.selector.matchLabels.app', 'does not match'],
  ['replicas', (d) => (d.spec.replicas = -1), 'spec.replicas', 'must be an integer'],
  ['restartPolicy', (d) => (d.spec.template.spec.restartPolicy = 'Never'), 'spec.template.spec.restartPolicy', 'Never is not supported'],
  ['hostNetwork', (d) => (d.spec.template.spec.hostNetwork = true), 'spec.template.spec.hostNetwork', 'is not supported'],
  ['apiVersion', (d) => (d.apiVersion = 'apps/v1beta1'), 'apiVersion', 'is not supported for Deployment'],
  ['duplicate container', (d) => d.spec.template.spec.containers.push({ ...d.spec.template.spec.containers[0] }), 'spec.template.spec.containers[1].name', 'duplicate'],
];

for (const [name, edit, path, message] of rejected) {
  test(`refused with its path: ${name}`, () => {
    assert.throws(() => podTemplates(deployment(edit)), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.path, path);
      assert.ok(err.message.includes(message), err.message);
      return true;
    });
  });
}

test('informational fields (image, resources) are accepted', () => {
  assert.doesNotThrow(() => podTemplates(deployment((d) => (d.spec.template.spec.containers[0].resources = { limits: { cpu: '1' } }))));
});
