// AdmissionReview in, AdmissionReview out: the webhook's whole decision, without sockets.

import { ConfigError } from '../src/errors';
import { inject } from './inject';
import { podShapeProblem } from './pod-shape';
import type { InjectOptions, Pod } from './types';

export type ReviewResult = 'injected' | 'skipped' | 'ignored' | 'denied' | 'bad_request' | 'error';

export interface ReviewAnswer {
  readonly httpStatus: number;
  /** An AdmissionReview for 200, a plain-text message otherwise. */
  readonly body: string;
  readonly contentType: string;
  readonly result: ReviewResult;
  /** The skip reason or error text, for logs. */
  readonly detail?: string;
}

const API_VERSION = 'admission.k8s.io/v1';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function badRequest(message: string): ReviewAnswer {
  return { httpStatus: 400, body: `${message}\n`, contentType: 'text/plain; charset=utf-8', result: 'bad_request', detail: message };
}

function answer(uid: string, response: Record<string, unknown>, result: ReviewResult, detail?: string): ReviewAnswer {
  const body = JSON.stringify({ apiVersion: API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } });
  return { httpStatus: 200, body, contentType: 'application/json', result, detail };
}

/** Handles one POST /inject body (raw bytes as text). Never throws. */
export function review(rawBody: string, options: InjectOptions): ReviewAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch (err) {
    return badRequest(`body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) return badRequest('body: expected an AdmissionReview object');
  if (parsed.apiVersion !== API_VERSION || parsed.kind !== 'AdmissionReview') {
    return badRequest(
      `body: expected apiVersion ${API_VERSION} and kind AdmissionReview, got ${JSON.stringify(parsed.apiVersion)} / ${JSON.stringify(parsed.kind)}`,
    );
  }
  const request = parsed.request;
  if (!isObject(request)) return badRequest('request: missing (an AdmissionReview must carry a request)');
  if (typeof request.uid !== 'string' || request.uid === '') return badRequest('request.uid: missing or not a string');
  const uid = request.uid;

  const kind = isObject(request.kind) ? request.kind.kind : undefined;
  if (request.operation !== 'CREATE') return answer(uid, { allowed: true }, 'ignored', `operation ${String(request.operation)}`);
  if (kind !== 'Pod' || (request.subResource !== undefined && request.subResource !== '')) {
    return answer(uid, { allowed: true }, 'ignored', `kind ${String(kind)}${request.subResource ? `/${String(request.subResource)}` : ''}`);
  }
  if (!isObject(request.object)) return badRequest('request.object: missing for a Pod CREATE');
  const shape = podShapeProblem(request.object, 'request.object');
  if (shape !== null) return badRequest(shape);
  const namespace = typeof request.namespace === 'string' ? request.namespace : undefined;

  try {
    const result = inject(request.object as Pod, options, { namespace });
    if (result.skipped !== undefined || result.patch.length === 0) {
      return answer(uid, { allowed: true }, 'skipped', result.skipped);
    }
    const patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
    return answer(uid, { allowed: true, patchType: 'JSONPatch', patch }, 'injected');
  } catch (err) {
    if (err instanceof ConfigError) {
      // A bad ferry.io/ annotation: the user can fix it, so tell them instead of running unmeshed.
      return answer(uid, { allowed: false, status: { code: 400, reason: 'BadRequest', message: `ferry injection: ${err.message}` } }, 'denied', err.message);
    }
    return {
      httpStatus: 500,
      body: `injection failed: ${(err as Error).message}\n`,
      contentType: 'text/plain; charset=utf-8',
      result: 'error',
      detail: String((err as Error).stack ?? err),
    };
  }
}
