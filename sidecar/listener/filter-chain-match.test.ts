// Tests for filter chain selection precedence and the CIDR helper.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DownstreamTlsConfig, FilterChainConfig, FilterChainMatchConfig, ListenerConfig } from '../../src/config/types';
import { translateNetworkFilter } from '../../src/config/http-connection-manager';
import { hcm } from '../../src/config/config.fixture';
import { ConfigError } from '../../src/errors';
import { Cidr, parseIp } from '../../src/net/cidr';
import { FilterChainMatcher, chainReadsFirstBytes, needsInspection, type ConnectionInfo } from './filter-chain-match';

function chain(name: string, match: Partial<FilterChainMatchConfig> = {}): FilterChainConfig {
  return {
    name,
    networkRbac: null,
    match: {
      destinationPort: null,
      prefixRanges: [],
      sourcePrefixRanges: [],
      sourcePorts: [],
      serverNames: [],
      transportProtocol: null,
      applicationProtocols: [],
      ...match,
    },
    tls: null,
    network: { kind: 'tcp_proxy', statPrefix: name, cluster: name, weightedClusters: null, idleTimeoutMs: 0, maxConnectAttempts: 1, accessLogs: [] },
  };
}

function listener(chains: FilterChainConfig[], defaultFilterChain: FilterChainConfig | null = null): ListenerConfig {
  return {
    name: 'l',
    address: { host: '0.0.0.0', port: 15001 },
    ipv4Compat: false,
    filterChains: chains,
    defaultFilterChain,
    useOriginalDst: true,
    tlsInspector: false,
    httpInspector: false,
    listenerFiltersTimeoutMs: 15000,
    continueOnListenerFiltersTimeout: false,
    perConnectionBufferLimitBytes: 1 << 20,
  };
}

function conn(over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    destinationIp: '10.96.0.12',
    destinationPort: 80,
    sourceIp: '10.1.0.5',
    sourcePort: 40000,
    serverName: null,
    transportProtocol: 'raw_buffer',
    applicationProtocols: [],
    ...over,
  };
}

const cidr = (address: string, prefixLen: number) => ({ address, prefixLen });

test('selection precedence', () => {
  const cases: { why: string; chains: FilterChainConfig[]; c: Partial<ConnectionInfo>; want: string | null }[] = [
    {
      why: 'port-specific beats port-less',
      chains: [chain('any'), chain('p80', { destinationPort: 80 })],
      c: {},
      want: 'p80',
    },
    {
      why: 'port-less when the port differs',
      chains: [chain('any'), chain('p80', { destinationPort: 80 })],
      c: { destinationPort: 8080 },
      want: 'any',
    },
    {
      why: 'no backtracking: the port matched but nothing below it did → default',
      chains: [chain('any'), chain('p80-sni', { destinationPort: 80, serverNames: ['a.com'] })],
      c: { serverName: 'b.com' },
      want: 'default',
    },
    {
      why: 'longest destination prefix wins',
      chains: [
        chain('wide', { prefixRanges: [cidr('10.0.0.0', 8)] }),
        chain('narrow', { prefixRanges: [cidr('10.96.0.0', 16)] }),
        chain('any'),
      ],
      c: {},
      want: 'narrow',
    },
    {
      why: 'prefix-less chain when no range contains the address',
      chains: [chain('narrow', { prefixRanges: [cidr('10.96.0.0', 16)] }), chain('any')],
      c: { destinationIp: '192.168.1.1' },
      want: 'any',
    },
    {
      why: 'IPv4-mapped IPv6 destination matches an IPv4 range',
      chains: [chain('v4', { prefixRanges: [cidr('10.96.0.12', 32)] }), chain('any')],
      c: { destinationIp: '::ffff:10.96.0.12' },
      want: 'v4',
    },
    {
      why: 'IPv6 range',
      chains: [chain('v6', { prefixRanges: [cidr('fd00::', 8)] }), chain('any')],
      c: { destinationIp: 'fd12::1' },
      want: 'v6',
    },
    {
      why: 'IPv6 ::/0 does not take IPv4',
      chains: [chain('v6', { prefixRanges: [cidr('::', 0)] }), chain('any')],
      c: {},
      want: 'any',
    },
    {
      why: 'SNI exact beats wildcard',
      chains: [chain('wild', { serverNames: ['*.example.com'] }), chain('exact', { serverNames: ['www.example.com'] })],
      c: { serverName: 'www.example.com', transportProtocol: 'tls' },
      want: 'exact',
    },
    {
      why: 'longest wildcard wins',
      chains: [chain('com', { serverNames: ['*.com'] }), chain('example', { serverNames: ['*.example.com'] })],
      c: { serverName: 'a.b.example.com' },
      want: 'example',
    },
    {
      why: 'SNI is case-insensitive',
      chains: [chain('exact', { serverNames: ['WWW.Example.com'] }), chain('any')],
      c: { serverName: 'www.EXAMPLE.com' },
      want: 'exact',
    },
    {
      why: 'no SNI → the name-less chain',
      chains: [chain('exact', { serverNames: ['a.com'] }), chain('any')],
      c: { serverName: null },
      want: 'any',
    },
    {
      why: 'transport protocol tls chosen for TLS',
      chains: [chain('tls', { transportProtocol: 'tls' }), chain('raw', { transportProtocol: 'raw_buffer' })],
      c: { transportProtocol: 'tls' },
      want: 'tls',
    },
    {
      why: 'transport protocol raw_buffer for plaintext',
      chains: [chain('tls', { transportProtocol: 'tls' }), chain('raw', { transportProtocol: 'raw_buffer' })],
      c: {},
      want: 'raw',
    },
    {
      why: 'ALPN h2 chain chosen when offered',
      chains: [
        chain('h2', { transportProtocol: 'tls', applicationProtocols: ['h2'] }),
        chain('tls', { transportProtocol: 'tls' }),
      ],
      c: { transportProtocol: 'tls', applicationProtocols: ['h2', 'http/1.1'] },
      want: 'h2',
    },
    {
      why: 'ALPN: first offered protocol with a chain wins',
      chains: [chain('h2', { applicationProtocols: ['h2'] }), chain('h1', { applicationProtocols: ['http/1.1'] })],
      c: { applicationProtocols: ['http/1.1', 'h2'] },
      want: 'h1',
    },
    {
      why: 'ALPN not offered → protocol-less chain',
      chains: [chain('h2', { applicationProtocols: ['h2'] }), chain('any')],
      c: { applicationProtocols: ['http/1.1'] },
      want: 'any',
    },
    {
      why: 'source prefix longest match',
      chains: [
        chain('pods', { sourcePrefixRanges: [cidr('10.1.0.0', 16)] }),
        chain('one', { sourcePrefixRanges: [cidr('10.1.0.5', 32)] }),
      ],
      c: {},
      want: 'one',
    },
    {
      why: 'source port exact beats any',
      chains: [chain('sp', { sourcePorts: [40000] }), chain('any')],
      c: {},
      want: 'sp',
    },
    {
      why: 'destination port is looked at before server name',
      chains: [chain('sni', { serverNames: ['a.com'] }), chain('p80', { destinationPort: 80 })],
      c: { serverName: 'a.com' },
      want: 'p80',
    },
    {
      why: 'no chain, no default → null',
      chains: [chain('p81', { destinationPort: 81 })],
      c: {},
      want: null,
    },
  ];
  const dflt = chain('default');
  for (const c of cases) {
    const withDefault = c.want === null ? null : dflt;
    const m = new FilterChainMatcher(listener(c.chains, withDefault));
    assert.equal(m.select(conn(c.c))?.name ?? null, c.want, c.why);
  }
});

test('a chain listing several values is found by each', () => {
  const m = new FilterChainMatcher(
    listener([chain('multi', { destinationPort: 443, serverNames: ['a.com', '*.b.com'], applicationProtocols: ['h2', 'http/1.1'] })]),
  );
  for (const [sni, alpn] of [
    ['a.com', 'h2'],
    ['x.b.com', 'http/1.1'],
  ]) {
    assert.equal(m.select(conn({ destinationPort: 443, serverName: sni, applicationProtocols: [alpn] }))?.name, 'multi');
  }
  assert.equal(m.select(conn({ destinationPort: 443, serverName: 'c.com', applicationProtocols: ['h2'] })), null);
});

test('identical matches and bad ranges are config errors', () => {
  assert.throws(
    () => new FilterChainMatcher(listener([chain('a', { destinationPort: 80 }), chain('b', { destinationPort: 80 })])),
    (e: unknown) => e instanceof ConfigError && /filter_chains\[1\]/.test(e.message) && /filter_chains\[0\]/.test(e.message),
  );
  assert.throws(
    () => new FilterChainMatcher(listener([chain('a', { prefixRanges: [cidr('10.0.0.300', 8)] })])),
    (e: unknown) => e instanceof ConfigError && /prefix_ranges\[0\]/.test(e.message),
  );
});

/** A chain whose network filter is a real (translated) HTTP connection manager; `tls` stands for any transport socket. */
function hcmChain(name: string, codecType: 'AUTO' | 'HTTP1' | 'HTTP2', match: Partial<FilterChainMatchConfig> = {}, tls = false): FilterChainConfig {
  const network = translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm({ codec_type: codecType }) }, 'f');
  const tlsConfig: DownstreamTlsConfig | null = tls
    ? { certChain: null, privateKey: null, ca: null, workloadCertificate: true, workloadTrustBundle: true, requireClientCertificate: false, matchSubjectAltNames: [], alpnProtocols: [], sessionTickets: true, minVersion: null, maxVersion: null }
    : null;
  return { ...chain(name, match), network, tls: tlsConfig };
}

test('needsInspection: whether any chain (for a destination: any chain that could serve it) reads the first bytes', () => {
  const dest = (ip: string, port: number) => ({ ip, port });
  const cases: { why: string; chains: FilterChainConfig[]; dflt?: FilterChainConfig; d?: { ip: string; port: number }; want: boolean }[] = [
    { why: 'port and prefix only', chains: [chain('a', { destinationPort: 80, prefixRanges: [cidr('10.0.0.0', 8)] })], want: false },
    { why: 'a server name', chains: [chain('a'), chain('b', { serverNames: ['x'] })], want: true },
    { why: 'a transport protocol', chains: [chain('a', { transportProtocol: 'tls' })], want: true },
    { why: 'application protocols', chains: [chain('a', { applicationProtocols: ['h2c'] })], want: true },
    { why: 'plaintext AUTO codec must see the HTTP/2 preface', chains: [hcmChain('h', 'AUTO')], want: true },
    { why: 'the default chain counts too', chains: [chain('a', { destinationPort: 80 })], dflt: hcmChain('h', 'AUTO'), want: true },
    { why: 'HTTP1 codec never waits', chains: [hcmChain('h', 'HTTP1')], want: false },
    { why: 'AUTO over TLS: ALPN decides, after the handshake', chains: [hcmChain('h', 'AUTO', {}, true)], want: false },
    { why: 'the destination port of the reading chain', chains: [chain('a', { destinationPort: 443, transportProtocol: 'tls' }), chain('b')], d: dest('10.0.0.1', 443), want: true },
    { why: 'another port: the server-first chain is picked at once', chains: [chain('a', { destinationPort: 443, transportProtocol: 'tls' }), chain('b')], d: dest('10.0.0.1', 3306), want: false },
    { why: 'inside the prefix', chains: [chain('a', { prefixRanges: [cidr('10.96.0.0', 12)], serverNames: ['x'] })], d: dest('10.96.0.12', 80), want: true },
    { why: 'outside the prefix', chains: [chain('a', { prefixRanges: [cidr('10.96.0.0', 12)], serverNames: ['x'] })], d: dest('192.0.2.1', 80), want: false },
    { why: 'an IPv4-mapped address is matched as IPv4', chains: [chain('a', { prefixRanges: [cidr('10.96.0.0', 12)], serverNames: ['x'] })], d: dest('::ffff:10.96.0.12', 80), want: true },
    { why: 'an unparsable address is not excluded by a prefix', chains: [chain('a', { prefixRanges: [cidr('10.96.0.0', 12)], serverNames: ['x'] })], d: dest('', 80), want: true },
    { why: 'a default chain reading bytes serves any destination', chains: [chain('a', { destinationPort: 80 })], dflt: hcmChain('h', 'AUTO'), d: dest('10.0.0.1', 9), want: true },
  ];
  for (const c of cases) assert.equal(needsInspection(listener(c.chains, c.dflt ?? null), c.d), c.want, c.why);
});

test('chainReadsFirstBytes', () => {
  assert.equal(chainReadsFirstBytes(chain('a')), false);
  assert.equal(chainReadsFirstBytes(chain('a', { serverNames: ['x'] })), true);
  assert.equal(chainReadsFirstBytes(hcmChain('h', 'AUTO')), true);
  assert.equal(chainReadsFirstBytes(hcmChain('h', 'HTTP2')), false);
});

test('cidr: parsing and containment', () => {
  const parses: [string, boolean][] = [
    ['1.2.3.4', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['1.2.3', false],
    ['01.2.3.4', false],
    ['::', true],
    ['::1', true],
    ['fe80::1%eth0', true],
    ['[2001:db8::1]', true],
    ['2001:db8::1::2', false],
    ['1:2:3:4:5:6:7:8', true],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1:2:3:4:5:6:7::8', false],
    ['::ffff:1.2.3.4', true],
    ['gggg::', false],
    ['', false],
  ];
  for (const [s, ok] of parses) assert.equal(parseIp(s) !== null, ok, s);
  assert.deepEqual(parseIp('::ffff:1.2.3.4'), parseIp('1.2.3.4'));
  assert.deepEqual(parseIp('::ffff:102:304'), parseIp('1.2.3.4'));

  const contains: [string, number, string, boolean][] = [
    ['10.0.0.0', 8, '10.255.1.1', true],
    ['10.0.0.0', 8, '11.0.0.1', false],
    ['10.1.2.3', 32, '10.1.2.3', true],
    ['10.1.2.3', 32, '10.1.2.4', false],
    ['0.0.0.0', 0, '8.8.8.8', true],
    ['0.0.0.0', 0, '::1', false],
    ['10.0.0.0', 8, '::ffff:10.0.0.1', true],
    ['2001:db8::', 32, '2001:db8:ffff::1', true],
    ['2001:db8::', 33, '2001:db8:ffff::1', false],
    ['2001:db8::1', 128, '2001:db8::1', true],
    ['2001:db8::1', 127, '2001:db8::', true],
    ['::ffff:10.0.0.0', 104, '10.0.0.9', true],
  ];
  for (const [a, len, ip, want] of contains) {
    const c = Cidr.parse(a, len);
    assert.ok(c, `${a}/${len}`);
    assert.equal(c.contains(parseIp(ip)!), want, `${a}/${len} ∋ ${ip}`);
  }
  assert.equal(Cidr.parse('10.0.0.0', 33), null);
  assert.equal(Cidr.parse('::', 129), null);
});
