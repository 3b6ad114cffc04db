// Tests for the pod shape check: a field the injector would misread is a 400 naming it, through review().

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { review } from './admission';
import type { InjectOptions } from './types';

const OPTIONS: InjectOptions = {
  image: 'example.com/ferry:0.1.0',
  controllerAddress: 'ferry-controller.ferry-system.svc:15012',
  trustDomain: 'cluster.local',
  kubernetesMinor: 30,
};

function body(object: unknown): string {
  const request = { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

const pod = (spec: unknown, metadata: unknown = { name: 'p' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

test('a pod field of the wrong type is a 400 naming it, never a 500 or a patch that does not apply', () => {
  const cases: [string, unknown, RegExp][] = [
    ['container without a name', pod({ containers: [{ image: 'a' }] }), /^request\.object\.spec\.containers\[0\]\.name: expected a container name, got nothing/],
    ['null container', pod({ containers: [null] }), /^request\.object\.spec\.containers\[0\]: expected an object, got null/],
    ['ports not a list', pod({ containers: [{ name: 'a', ports: 80 }] }), /^request\.object\.spec\.containers\[0\]\.ports: expected an array, got a number/],
    ['probe header without value', pod({ containers: [{ name: 'a', readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'x' }] } } }] }), /readinessProbe\.httpGet\.httpHeaders\[0\]\.value: expected a string/],
    ['annotation value not a string', pod({ containers: [{ name: 'a' }] }, { name: 'p', annotations: { 'ferry.io/proxy-cpu': 1 } }), /^request\.object\.metadata\.annotations\["ferry\.io\/proxy-cpu"\]: expected a string, got a number/],
    ['init containers not a list', pod({ containers: [{ name: 'a' }], initContainers: {} }), /^request\.object\.spec\.initContainers: expected an array, got an object/],
    ['volumes null', pod({ containers: [{ name: 'a' }], volumes: null }), /^request\.object\.spec\.volumes: expected an array, got null/],
  ];
  for (const [name, object, message] of cases) {
    const a = review(body(object), OPTIONS);
    assert.equal(a.httpStatus, 400, `${name}: ${a.httpStatus} ${a.body}`);
    assert.match(a.body, message, name);
  }
});

test('a well-formed pod still gets its patch', () => {
  const a = review(body(pod({ containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { port: 'http' } } }] })), OPTIONS);
  assert.equal(a.result, 'injected', a.body);
});
