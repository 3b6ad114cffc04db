// Table tests for the downstream TLS decisions shared by every chain: client certificate policy,
// ALPN, who the peer is (SAN match, SPIFFE principal), and the connection-level RBAC admit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import type { DownstreamTlsConfig, RbacPolicyConfig, StringMatcherConfig } from '../../src/config/types';
import { compileRules } from '../filters/rbac';
import type { FilterDownstream } from '../filters/types';
import { acceptsHttp1OverTls, admitConnection, clientCertificatePolicy, offeredAlpn, verifyPeer } from './downstream-tls';

const base: DownstreamTlsConfig = {
  certChain: null,
  privateKey: null,
  ca: null,
  workloadCertificate: true,
  workloadTrustBundle: false,
  requireClientCertificate: false,
  matchSubjectAltNames: [],
  alpnProtocols: [],
  sessionTickets: true,
  minVersion: null,
  maxVersion: null,
};
const tlsConfig = (over: Partial<DownstreamTlsConfig>): DownstreamTlsConfig => ({ ...base, ...over });
const matcher = (kind: StringMatcherConfig['kind'], value: string): StringMatcherConfig => ({ kind, value, regex: null, ignoreCase: false });
/** A peer certificate as node:tls shows it; only the SANs matter here. */
const cert = (subjectaltname: string | undefined): PeerCertificate => ({ subject: { CN: 'peer' }, subjectaltname }) as PeerCertificate;

test('clientCertificatePolicy: asked for when required or when there is a CA to check it; refused only when required', () => {
  const cases: { why: string; t: Partial<DownstreamTlsConfig>; want: { requestCert: boolean; rejectUnauthorized: boolean } }[] = [
    { why: 'server TLS only', t: {}, want: { requestCert: false, rejectUnauthorized: false } },
    { why: 'a validation CA: asked, not required', t: { ca: Buffer.from('ca') }, want: { requestCert: true, rejectUnauthorized: false } },
    { why: 'the workload trust bundle (PERMISSIVE)', t: { workloadTrustBundle: true }, want: { requestCert: true, rejectUnauthorized: false } },
    { why: 'require_client_certificate (STRICT)', t: { workloadTrustBundle: true, requireClientCertificate: true }, want: { requestCert: true, rejectUnauthorized: true } },
  ];
  for (const c of cases) assert.deepEqual(clientCertificatePolicy(tlsConfig(c.t)), c.want, c.why);
});

test('offeredAlpn and acceptsHttp1OverTls: TCP offers the configured list; HTTP offers h2, and http/1.1 where served', () => {
  const cases: { why: string; alpn: string[]; http: 'AUTO' | 'HTTP1' | 'HTTP2' | null; want: string[] | undefined; h1?: boolean }[] = [
    { why: 'TCP, nothing configured: no ALPN', alpn: [], http: null, want: undefined },
    { why: 'TCP, configured', alpn: ['istio-peer-exchange', 'istio'], http: null, want: ['istio-peer-exchange', 'istio'] },
    { why: 'HTTP, nothing configured', alpn: [], http: 'AUTO', want: ['h2', 'http/1.1'], h1: true },
    { why: 'HTTP, h2 only', alpn: ['h2'], http: 'AUTO', want: ['h2'], h1: false },
    { why: 'HTTP, h2 only but an HTTP1 codec', alpn: ['h2'], http: 'HTTP1', want: ['h2', 'http/1.1'], h1: true },
    { why: 'HTTP, http/1.1 listed', alpn: ['http/1.1'], http: 'HTTP2', want: ['h2', 'http/1.1'], h1: true },
  ];
  for (const c of cases) {
    const t = tlsConfig({ alpnProtocols: c.alpn });
    assert.deepEqual(offeredAlpn(t, c.http === null ? null : { codecType: c.http }), c.want, c.why);
    if (c.http !== null) assert.equal(acceptsHttp1OverTls(t, { codecType: c.http }), c.h1, c.why);
  }
});

test('verifyPeer: the SAN match admits or refuses, the principal is the first SPIFFE URI SAN', () => {
  const spiffe = 'spiffe://cluster.local/ns/shop/sa/web';
  const cases: { why: string; cert: PeerCertificate | null | undefined; match: StringMatcherConfig[]; admitted: boolean; principal?: string | null }[] = [
    { why: 'no client certificate', cert: undefined, match: [], admitted: true, principal: null },
    { why: 'an empty certificate object (none sent)', cert: {} as PeerCertificate, match: [matcher('exact', spiffe)], admitted: true, principal: null },
    { why: 'a SPIFFE ID, no matchers', cert: cert(`URI:${spiffe}`), match: [], admitted: true, principal: spiffe },
    { why: 'the first spiffe:// URI SAN, after a DNS SAN', cert: cert(`DNS:web.shop, URI:https://x.test, URI:${spiffe}, URI:spiffe://other/ns/a/sa/b`), match: [], admitted: true, principal: spiffe },
    { why: 'no SAN at all: admitted without a principal', cert: cert(undefined), match: [], admitted: true, principal: null },
    { why: 'an exact URI SAN match', cert: cert(`URI:${spiffe}`), match: [matcher('exact', spiffe)], admitted: true, principal: spiffe },
    { why: 'a DNS SAN may match too', cert: cert(`DNS:web.shop, URI:${spiffe}`), match: [matcher('suffix', '.shop')], admitted: true, principal: spiffe },
    { why: 'any one matcher suffices', cert: cert(`URI:${spiffe}`), match: [matcher('exact', 'nope'), matcher('prefix', 'spiffe://cluster.local/ns/shop/')], admitted: true, principal: spiffe },
    { why: 'no SAN matches: refused', cert: cert(`URI:${spiffe}`), match: [matcher('exact', 'spiffe://cluster.local/ns/shop/sa/api')], admitted: false },
    { why: 'a certificate without SANs and matchers: refused', cert: cert(undefined), match: [matcher('prefix', 'spiffe://')], admitted: false },
  ];
  for (const c of cases) {
    const v = verifyPeer(c.cert, c.match);
    assert.equal(v.admitted, c.admitted, c.why);
    if (v.admitted) assert.equal(v.principal, c.principal, c.why);
    else assert.match(v.reason, /match none of the expected subject alt names/, c.why);
  }
});

test('admitConnection: network RBAC over the peer principal, source address and destination port', () => {
  const web = 'spiffe://cluster.local/ns/shop/sa/web';
  const conn = (over: Partial<FilterDownstream>): FilterDownstream => ({ remoteAddress: '10.1.0.5', remotePort: 40000, localAddress: '10.1.0.9', localPort: 8080, peerPrincipal: null, ...over });
  const fromWeb: RbacPolicyConfig = { name: 'web', permissions: [{ kind: 'any' }], principals: [{ kind: 'authenticated', principalName: matcher('exact', web) }] };
  const toMetrics: RbacPolicyConfig = { name: 'metrics', permissions: [{ kind: 'destination_port', port: 15090 }], principals: [{ kind: 'any' }] };
  const fromSubnet: RbacPolicyConfig = { name: 'subnet', permissions: [{ kind: 'any' }], principals: [{ kind: 'source_ip', range: { address: '10.2.0.0', prefixLen: 16 } }] };
  const allow = compileRules({ action: 'ALLOW', policies: [fromWeb, toMetrics] });
  const deny = compileRules({ action: 'DENY', policies: [fromSubnet] });
  const cases: { why: string; rules: ReturnType<typeof compileRules>; d: Partial<FilterDownstream>; want: boolean }[] = [
    { why: 'ALLOW: the named peer', rules: allow, d: { peerPrincipal: web }, want: true },
    { why: 'ALLOW: another peer', rules: allow, d: { peerPrincipal: 'spiffe://cluster.local/ns/shop/sa/api' }, want: false },
    { why: 'ALLOW: no peer (plaintext)', rules: allow, d: {}, want: false },
    { why: 'ALLOW: anyone to the allowed port', rules: allow, d: { localPort: 15090 }, want: true },
    { why: 'DENY: the denied subnet', rules: deny, d: { remoteAddress: '10.2.3.4' }, want: false },
    { why: 'DENY: elsewhere', rules: deny, d: { remoteAddress: '10.3.3.4' }, want: true },
  ];
  for (const c of cases) assert.equal(admitConnection(c.rules, conn(c.d), () => 0, () => 0), c.want, c.why);
});
