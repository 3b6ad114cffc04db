// SPIFFE IDs for workloads: builds, parses and strictly validates spiffe://<trust-domain>/ns/<ns>/sa/<sa>.

import { FerryError } from '../src/errors';

/** Why a string is not an acceptable Ferry workload SPIFFE ID. */
export type SpiffeIdProblem =
  | 'empty'
  | 'too_long'
  | 'wrong_scheme'
  | 'bad_trust_domain'
  | 'bad_path'
  | 'not_workload';

/** A string is not a valid SPIFFE ID; `reason` is stable, the message names the input. */
export class SpiffeIdError extends FerryError {
  readonly reason: SpiffeIdProblem;
  constructor(reason: SpiffeIdProblem, message: string) {
    super('FERRY_ERR_SPIFFE_ID', message);
    this.reason = reason;
  }
}

/** A parsed workload identity. */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The canonical `spiffe://…` string. */
  readonly uri: string;
}

const SCHEME = 'spiffe://';
/** SPIFFE spec: URIs longer than this are invalid. */
const MAX_URI_LENGTH = 2048;
/** Trust domain: lower-case letters, digits, '.', '-', '_' (SPIFFE ID spec §2.1). */
const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;
/** Path segment: letters, digits, '.', '-', '_' (SPIFFE ID spec §2.2). */
const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;
const MAX_TRUST_DOMAIN_LENGTH = 255;

function checkTrustDomain(td: string, input: string): void {
  if (td.length === 0 || td.length > MAX_TRUST_DOMAIN_LENGTH || !TRUST_DOMAIN_RE.test(td)) {
    throw new SpiffeIdError(
      'bad_trust_domain',
      `${JSON.stringify(input)}: trust domain must be 1-255 characters of a-z 0-9 . - _`,
    );
  }
}

function checkSegment(seg: string, input: string): void {
  if (seg.length === 0) {
    throw new SpiffeIdError('bad_path', `${JSON.stringify(input)}: path has an empty segment`);
  }
  if (seg === '.' || seg === '..') {
    throw new SpiffeIdError('bad_path', `${JSON.stringify(input)}: path segment "${seg}" is not allowed`);
  }
  if (!SEGMENT_RE.test(seg)) {
    throw new SpiffeIdError(
      'bad_path',
      `${JSON.stringify(input)}: path segment "${seg}" may contain only A-Z a-z 0-9 . - _`,
    );
  }
}

/** Builds the SPIFFE ID of a workload; throws SpiffeIdError if any part is not allowed. */
export function buildSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  const uri = `${SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  checkTrustDomain(trustDomain, uri);
  checkSegment(namespace, uri);
  checkSegment(serviceAccount, uri);
  if (uri.length > MAX_URI_LENGTH) {
    throw new SpiffeIdError('too_long', `SPIFFE ID longer than ${MAX_URI_LENGTH} characters`);
  }
  return uri;
}

/**
 * Parses `spiffe://<trust-domain>/ns/<ns>/sa/<sa>` strictly: lower-case scheme and trust domain, no
 * port, user info, query, fragment, percent-encoding, empty or dot segments, or trailing slash.
 */
export function parseSpiffeId(input: string): WorkloadIdentity {
  if (input.length === 0) throw new SpiffeIdError('empty', 'SPIFFE ID is empty');
  if (input.length > MAX_URI_LENGTH) {
    throw new SpiffeIdError('too_long', `SPIFFE ID longer than ${MAX_URI_LENGTH} characters`);
  }
  if (!input.startsWith(SCHEME)) {
    throw new SpiffeIdError('wrong_scheme', `${JSON.stringify(input)}: must start with "${SCHEME}"`);
  }
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  checkTrustDomain(trustDomain, input);
  if (slash === -1) {
    throw new SpiffeIdError('not_workload', `${JSON.stringify(input)}: names a trust domain, not a workload`);
  }
  const segments = rest.slice(slash + 1).split('/');
  for (const seg of segments) checkSegment(seg, input);
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    throw new SpiffeIdError('not_workload', `${JSON.stringify(input)}: path must be /ns/<namespace>/sa/<service-account>`);
  }
  return Object.freeze({ trustDomain, namespace: segments[1], serviceAccount: segments[3], uri: input });
}

/** True if `input` is a valid workload SPIFFE ID (no exception). */
export function isSpiffeId(input: string): boolean {
  try {
    parseSpiffeId(input);
    return true;
  } catch {
    return false;
  }
}
