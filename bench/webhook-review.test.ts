// Tests for the webhook scenario's AdmissionReview: the real decision function injects it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../webhook/admission';
import { benchAdmissionReview, isInjectedAnswer } from './webhook-review';

const OPTIONS = { image: 'ferry/ferry:0.1.0', controllerAddress: 'ferry-controller.ferry-system.svc:15012', trustDomain: 'cluster.local', kubernetesMinor: 29 };

test('the benchmark review is injected (a patch, not a skip) by the webhook decision', () => {
  const answer = review(JSON.stringify(benchAdmissionReview()), OPTIONS);
  assert.equal(answer.httpStatus, 200);
  assert.equal(answer.result, 'injected');
  assert.equal(isInjectedAnswer(answer.body), true);
  const patch = JSON.parse(Buffer.from(JSON.parse(answer.body).response.patch, 'base64').toString('utf8')) as unknown[];
  assert.ok(patch.length > 3, `patch has ${patch.length} operations`);
});

test('isInjectedAnswer: a plain allow, a denial or garbage is not an injection', () => {
  assert.equal(isInjectedAnswer(JSON.stringify({ response: { uid: 'u', allowed: true } })), false);
  assert.equal(isInjectedAnswer(JSON.stringify({ response: { uid: 'u', allowed: false, patchType: 'JSONPatch', patch: 'W10=' } })), false);
  assert.equal(isInjectedAnswer('not json'), false);
});
