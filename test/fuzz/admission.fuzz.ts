// Fuzz target: the webhook's AdmissionReview handling, from request body text to the answer and its patch.
//
// Input: one byte choosing the mesh options (Kubernetes minor, CA root, namespace injection), then
// the POST body (seeded with real reviews). review() never throws. Asserted: a bad review is a 400
// naming what was wrong, never a 500; a 200 carries an AdmissionReview with the request's uid; an
// injection patch applies cleanly to the pod, and the patched pod is not injected twice.

import { applyPatch, type Operation } from 'fast-json-patch';
import { review } from '../../webhook/admission';
import type { InjectOptions } from '../../webhook/types';
import { invariant } from './support/fuzz-support';

const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function options(flags: number): InjectOptions {
  return {
    image: 'example.com/ferry:0.1.0',
    controllerAddress: 'ferry-controller.ferry-system.svc:15012',
    trustDomain: 'cluster.local',
    kubernetesMinor: flags & 1 ? 28 : 30,
    caRootPem: flags & 2 ? ROOT_PEM : undefined,
    namespaceInjection: (flags & 4) === 0,
    version: '0.1.0',
  };
}

interface Review {
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: { code: number; message: string } };
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const opts = options(data[0]);
  const body = data.subarray(1).toString('utf8');
  const a = review(body, opts);
  invariant(a.httpStatus === 200 || a.httpStatus === 400, `HTTP ${a.httpStatus} (${a.result}) for a review: ${a.detail ?? a.body}`);
  if (a.httpStatus === 400) {
    invariant(a.result === 'bad_request' && a.body.trim().length > 0, 'a 400 without a message');
    return;
  }
  const out = JSON.parse(a.body) as Review;
  const request = (JSON.parse(body) as { request: { uid: string; object?: unknown; namespace?: unknown } }).request;
  invariant(out.response.uid === request.uid, 'the answer carries another uid');
  if (a.result === 'denied') invariant(out.response.allowed === false && out.response.status?.code === 400, 'a denial without a 400 status');
  if (a.result !== 'injected') return;
  invariant(out.response.allowed === true && out.response.patchType === 'JSONPatch', 'an injection without a JSON patch');
  const patch = JSON.parse(Buffer.from(out.response.patch ?? '', 'base64').toString('utf8')) as Operation[];
  let patched: unknown;
  try {
    patched = applyPatch(structuredClone(request.object), patch, true, false).newDocument;
  } catch (err) {
    invariant(false, `the patch does not apply to the pod: ${(err as Error).message}`);
  }
  const again = review(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, object: patched } }), opts);
  invariant(again.result === 'skipped', `the injected pod is ${again.result} again (${again.detail ?? ''})`);
}
