// Table tests for review(): every malformed pod in a review is a 400 naming its field, never a 500 or a bad patch.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { review } from './admission';
import type { InjectOptions } from './types';

const OPTIONS: InjectOptions = { image: 'example.com/ferry:0.1.0', controllerAddress: 'ferry-controller.ferry-system.svc:15012', trustDomain: 'cluster.local', kubernetesMinor: 30 };
const APP = { name: 'app', image: 'a' };

function reviewOf(object: unknown): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object },
  });
}

const withProbe = (probe: unknown, extra: Record<string, unknown> = {}) => ({ spec: { containers: [{ ...APP, ...extra, readinessProbe: probe }] } });

describe('review: the shape of the pod', () => {
  const bad: [string, unknown, string][] = [
    ['a null container', { spec: { containers: [null] } }, 'request.object.spec.containers[0]: expected an object, got null'],
    ['a number for a container', { spec: { containers: [5] } }, 'request.object.spec.containers[0]: expected an object, got a number'],
    ['containers as an object', { spec: { containers: { app: APP } } }, 'request.object.spec.containers: expected an array, got an object'],
    ['a container without a name', { spec: { containers: [{ image: 'a' }] } }, 'request.object.spec.containers[0].name: expected a container name, got nothing'],
    ['a container name that is a number', { spec: { containers: [{ name: 5 }] } }, 'request.object.spec.containers[0].name: expected a container name, got a number'],
    ['initContainers as an object', { spec: { containers: [APP], initContainers: {} } }, 'request.object.spec.initContainers: expected an array, got an object'],
    ['a null init container', { spec: { containers: [APP], initContainers: [null] } }, 'request.object.spec.initContainers[0]: expected an object, got null'],
    ['ports as an object', { spec: { containers: [{ ...APP, ports: {} }] } }, 'request.object.spec.containers[0].ports: expected an array, got an object'],
    ['a null port', { spec: { containers: [{ ...APP, ports: [null] }] } }, 'request.object.spec.containers[0].ports[0]: expected an object, got null'],
    ['a string containerPort', { spec: { containers: [{ ...APP, ports: [{ containerPort: '80' }] }] } }, 'request.object.spec.containers[0].ports[0].containerPort: expected a number, got a string "80"'],
    ['a probe that is a string', withProbe('x'), 'request.object.spec.containers[0].readinessProbe: expected an object, got a string "x"'],
    ['a null httpGet', withProbe({ httpGet: null }), 'request.object.spec.containers[0].readinessProbe.httpGet: expected an object, got null'],
    ['an httpGet port that is an object', withProbe({ httpGet: { port: {} } }), 'request.object.spec.containers[0].readinessProbe.httpGet.port: expected a port number or name, got an object'],
    ['an httpGet path that is a number', withProbe({ httpGet: { port: 80, path: 5 } }), 'request.object.spec.containers[0].readinessProbe.httpGet.path: expected a string, got a number'],
    ['httpHeaders as an object', withProbe({ httpGet: { port: 80, httpHeaders: { a: 'b' } } }), 'request.object.spec.containers[0].readinessProbe.httpGet.httpHeaders: expected an array, got an object'],
    ['a null http header', withProbe({ httpGet: { port: 80, httpHeaders: [null] } }), 'request.object.spec.containers[0].readinessProbe.httpGet.httpHeaders[0]: expected an object, got null'],
    ['a tcpSocket that is a number', withProbe({ tcpSocket: 80 }), 'request.object.spec.containers[0].readinessProbe.tcpSocket: expected an object, got a number'],
    ['a grpc port that is a string', withProbe({ grpc: { port: '9000' } }), 'request.object.spec.containers[0].readinessProbe.grpc.port: expected a number, got a string "9000"'],
    ['a timeout that is a string', withProbe({ tcpSocket: { port: 80 }, timeoutSeconds: '5' }), 'request.object.spec.containers[0].readinessProbe.timeoutSeconds: expected a number, got a string "5"'],
    ['a null liveness probe', { spec: { containers: [{ ...APP, livenessProbe: null }] } }, 'request.object.spec.containers[0].livenessProbe: expected an object, got null'],
    ['an annotation that is a number', { metadata: { annotations: { 'ferry.io/proxy-cpu': 5 } }, spec: { containers: [APP] } }, 'request.object.metadata.annotations["ferry.io/proxy-cpu"]: expected a string, got a number'],
    ['a capture annotation that is a number', { metadata: { annotations: { 'ferry.io/exclude-inbound-ports': 5 } }, spec: { containers: [APP] } }, 'request.object.metadata.annotations["ferry.io/exclude-inbound-ports"]: expected a string, got a number'],
    ['annotations that are null', { metadata: { annotations: null }, spec: { containers: [APP] } }, 'request.object.metadata.annotations: expected an object, got null'],
    ['labels as an array', { metadata: { labels: ['x'] }, spec: { containers: [APP] } }, 'request.object.metadata.labels: expected an object, got an array'],
    ['a label that is a boolean', { metadata: { labels: { 'ferry.io/inject': true } }, spec: { containers: [APP] } }, 'request.object.metadata.labels["ferry.io/inject"]: expected a string, got a boolean'],
    ['null metadata', { metadata: null, spec: { containers: [APP] } }, 'request.object.metadata: expected an object, got null'],
    ['a namespace that is a number', { metadata: { namespace: 5 }, spec: { containers: [APP] } }, 'request.object.metadata.namespace: expected a string, got a number'],
    ['a null spec', { spec: null }, 'request.object.spec: expected an object, got null'],
    ['volumes that are null', { spec: { containers: [APP], volumes: null } }, 'request.object.spec.volumes: expected an array, got null'],
    ['a volume that is a string', { spec: { containers: [APP], volumes: ['data'] } }, 'request.object.spec.volumes[0]: expected an object, got a string "data"'],
    ['hostNetwork as a string', { spec: { containers: [APP], hostNetwork: 'true' } }, 'request.object.spec.hostNetwork: expected true or false, got a string "true"'],
  ];
  for (const [name, object, message] of bad) {
    test(`400 for ${name}`, () => {
      const a = review(reviewOf(object), OPTIONS);
      assert.deepEqual([a.httpStatus, a.result, a.body], [400, 'bad_request', `${message}\n`]);
    });
  }

  test('a well-formed pod with every checked field is injected', () => {
    const pod = {
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, annotations: { 'ferry.io/proxy-cpu': '100m' } },
      spec: {
        hostNetwork: false,
        volumes: [{ name: 'data', emptyDir: {} }],
        initContainers: [{ name: 'setup', image: 'a' }],
        containers: [
          {
            ...APP,
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { port: 'http', path: '/ready', scheme: 'HTTP', httpHeaders: [{ name: 'x', value: 'y' }] }, timeoutSeconds: 2 },
            livenessProbe: { tcpSocket: { port: 8080 } },
            startupProbe: { grpc: { port: 9000, service: 's' } },
          },
        ],
      },
    };
    const a = review(reviewOf(pod), OPTIONS);
    assert.deepEqual([a.httpStatus, a.result], [200, 'injected'], a.detail);
  });

  test('a pod without containers is still skipped, not refused', () => {
    const a = review(reviewOf({ metadata: { name: 'empty' }, spec: {} }), OPTIONS);
    assert.deepEqual([a.httpStatus, a.result, a.detail], [200, 'skipped', 'pod has no containers']);
  });
});
