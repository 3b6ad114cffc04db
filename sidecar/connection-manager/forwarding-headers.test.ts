// Tests for the forwarding-header policy: X-Forwarded-For, X-Forwarded-Proto, x-request-id, XFCC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyForwardingHeaders, type ForwardingPolicy } from './forwarding-headers';

const sidecar: ForwardingPolicy = { useRemoteAddress: false, generateRequestId: true, preserveExternalRequestId: false };
const edge: ForwardingPolicy = { ...sidecar, useRemoteAddress: true };
const plain = { remoteAddress: '10.1.0.5', secure: false };

test('applyForwardingHeaders: the headers that go upstream', () => {
  const cases: {
    why: string;
    policy: ForwardingPolicy;
    conn?: { remoteAddress: string; secure: boolean };
    in: Record<string, string | string[]>;
    want: Record<string, string | string[]>;
  }[] = [
    { why: 'a request id and the scheme are added', policy: sidecar, in: {}, want: { 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'TLS downstream: https', policy: sidecar, conn: { remoteAddress: '10.1.0.5', secure: true }, in: {}, want: { 'x-request-id': 'id-1', 'x-forwarded-proto': 'https' } },
    { why: 'inside the mesh the client request id and scheme are kept', policy: sidecar, in: { 'x-request-id': 'theirs', 'x-forwarded-proto': 'https' }, want: { 'x-request-id': 'theirs', 'x-forwarded-proto': 'https' } },
    { why: 'inside the mesh X-Forwarded-For passes untouched', policy: sidecar, in: { 'x-forwarded-for': '192.0.2.1' }, want: { 'x-forwarded-for': '192.0.2.1', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'no request id when generate_request_id is off', policy: { ...sidecar, generateRequestId: false }, in: {}, want: { 'x-forwarded-proto': 'http' } },
    { why: 'the edge replaces the request id and scheme and appends the peer', policy: edge, in: { 'x-request-id': 'theirs', 'x-forwarded-proto': 'https' }, want: { 'x-request-id': 'id-1', 'x-forwarded-proto': 'http', 'x-forwarded-for': '10.1.0.5' } },
    { why: 'the edge keeps an external request id when told to', policy: { ...edge, preserveExternalRequestId: true }, in: { 'x-request-id': 'theirs' }, want: { 'x-request-id': 'theirs', 'x-forwarded-proto': 'http', 'x-forwarded-for': '10.1.0.5' } },
    { why: 'the edge appends to a client list (no trusted hops)', policy: edge, in: { 'x-forwarded-for': '192.0.2.1, 198.51.100.7' }, want: { 'x-forwarded-for': '192.0.2.1, 198.51.100.7, 10.1.0.5', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'repeated X-Forwarded-For lines become one list', policy: edge, in: { 'x-forwarded-for': ['192.0.2.1', '198.51.100.7'] }, want: { 'x-forwarded-for': '192.0.2.1, 198.51.100.7, 10.1.0.5', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'an IPv4-mapped peer is written as IPv4', policy: edge, conn: { remoteAddress: '::ffff:10.1.0.5', secure: false }, in: {}, want: { 'x-forwarded-for': '10.1.0.5', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'an IPv6 peer as it is', policy: edge, conn: { remoteAddress: '2001:db8::5', secure: false }, in: {}, want: { 'x-forwarded-for': '2001:db8::5', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: 'an unknown peer adds nothing', policy: edge, conn: { remoteAddress: '', secure: false }, in: { 'x-forwarded-for': '192.0.2.1' }, want: { 'x-forwarded-for': '192.0.2.1', 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
    { why: "a client's X-Forwarded-Client-Cert never crosses", policy: sidecar, in: { 'x-forwarded-client-cert': 'By=spiffe://evil' }, want: { 'x-request-id': 'id-1', 'x-forwarded-proto': 'http' } },
  ];
  for (const c of cases) {
    const out = { ...c.in };
    let n = 0;
    applyForwardingHeaders(out, c.policy, c.conn ?? plain, () => `id-${++n}`);
    assert.deepEqual(out, c.want, c.why);
  }
});
