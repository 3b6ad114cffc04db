// Tests for TLS transport sockets (downstream and upstream contexts).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DOWNSTREAM_TLS_TYPE, translateDownstreamTransportSocket, translateUpstreamTransportSocket, UPSTREAM_TLS_TYPE } from './tls';
import { assertConfigError } from './config.fixture';

const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), 'CA');

const cert = { certificate_chain: { inline_string: 'CHAIN' }, private_key: { inline_bytes: Buffer.from('KEY').toString('base64') } };
const down = (ctx: Record<string, unknown>) => ({ name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS_TYPE, ...ctx } });
const up = (ctx: Record<string, unknown>) => ({ name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS_TYPE, ...ctx } });
const P = 'fc.transport_socket';

describe('downstream TLS', () => {
  test('certificate, client CA, SANs, ALPN, versions', () => {
    const t = translateDownstreamTransportSocket(
      down({
        require_client_certificate: true,
        common_tls_context: {
          tls_certificates: [cert],
          alpn_protocols: ['h2'],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
          validation_context: {
            trusted_ca: { filename: join(dir, 'ca.pem') },
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://td/' } }],
          },
        },
      }),
      P,
    )!;
    assert.equal(t.certChain!.toString(), 'CHAIN');
    assert.equal(t.privateKey!.toString(), 'KEY');
    assert.equal(t.ca!.toString(), 'CA');
    assert.deepEqual([t.requireClientCertificate, t.alpnProtocols, t.minVersion, t.maxVersion], [true, ['h2'], 'TLSv1.2', 'TLSv1.3']);
    assert.equal(t.matchSubjectAltNames[0].value, 'spiffe://td/');
  });
  test('raw_buffer is no TLS', () => {
    assert.equal(
      translateDownstreamTransportSocket({ name: 'raw', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } }, P),
      null,
    );
  });
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['no certificate', { common_tls_context: {} }, [`${P}.typed_config.common_tls_context.tls_certificates`]],
    ['client cert without CA', { require_client_certificate: true, common_tls_context: { tls_certificates: [cert] } }, [`${P}.typed_config.require_client_certificate`]],
    ['SAN match without CA', { common_tls_context: { tls_certificates: [cert], validation_context: { match_subject_alt_names: [{ exact: 'a' }] } } }, [`${P}.typed_config.common_tls_context.validation_context`, 'insecure']],
    ['TLS 1.0', { common_tls_context: { tls_certificates: [cert], tls_params: { tls_minimum_protocol_version: 'TLSv1_0' } } }, ['tls_params.tls_minimum_protocol_version']],
    ['SDS secrets', { common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 's' }] } }, ['common_tls_context.tls_certificate_sds_secret_configs', 'not supported']],
    ['cipher suites', { common_tls_context: { tls_certificates: [cert], tls_params: { cipher_suites: ['X'] } } }, ['tls_params.cipher_suites']],
    ['missing cert file', { common_tls_context: { tls_certificates: [{ ...cert, certificate_chain: { filename: join(dir, 'none.pem') } }] } }, ['tls_certificates[0].certificate_chain.filename', 'cannot read']],
    ['two certificates', { common_tls_context: { tls_certificates: [cert, cert] } }, ['common_tls_context.tls_certificates']],
  ];
  for (const [name, ctx, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateDownstreamTransportSocket(down(ctx), P), ...frags));
  test('wrong context type for the direction', () =>
    assertConfigError(() => translateDownstreamTransportSocket(up({}), P), `${P}.typed_config.@type`));
});

describe('upstream TLS', () => {
  test('sni, SAN types, optional client certificate', () => {
    const t = translateUpstreamTransportSocket(
      up({
        sni: 'svc.local',
        common_tls_context: {
          validation_context: {
            trusted_ca: { inline_string: 'CA' },
            match_typed_subject_alt_names: [
              { san_type: 'DNS', matcher: { exact: 'svc.local' } },
              { san_type: 'URI', matcher: { safe_regex: { regex: 'spiffe://td/.*' } } },
            ],
          },
        },
      }),
      'c.transport_socket',
    )!;
    assert.equal(t.sni, 'svc.local');
    assert.equal(t.certChain, null);
    assert.deepEqual(t.matchSubjectAltNames.map((m) => m.kind), ['exact', 'safe_regex']);
    assert.equal(translateUpstreamTransportSocket(up({}), 'c')!.ca, null);
  });
  test('rejects IP SAN matches', () =>
    assertConfigError(
      () =>
        translateUpstreamTransportSocket(
          up({ common_tls_context: { validation_context: { trusted_ca: { inline_string: 'CA' }, match_typed_subject_alt_names: [{ san_type: 'IP_ADDRESS', matcher: { exact: '1.2.3.4' } }] } } }),
          'c',
        ),
      'c.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type',
    ));
  test('rejects an unknown transport socket', () =>
    assertConfigError(() => translateUpstreamTransportSocket({ name: 'envoy.transport_sockets.alts', typed_config: { '@type': 'type.googleapis.com/x.Alts' } }, 'c'), 'c.typed_config.@type'));
  test('max_session_keys: 1 by default as in Envoy, 0 turns resumption off, more than Ferry keeps is refused with its path', () => {
    assert.equal(translateUpstreamTransportSocket(up({}), 'c')!.maxSessionKeys, 1);
    assert.equal(translateUpstreamTransportSocket(up({ max_session_keys: 0 }), 'c')!.maxSessionKeys, 0);
    assert.equal(translateUpstreamTransportSocket(up({ max_session_keys: { value: 4 } }), 'c')!.maxSessionKeys, 4);
    assertConfigError(() => translateUpstreamTransportSocket(up({ max_session_keys: 17 }), 'c'), 'c.typed_config.max_session_keys');
  });
});

describe('downstream TLS session resumption', () => {
  test('tickets on by default; disable_stateless_session_resumption turns them off', () => {
    assert.equal(translateDownstreamTransportSocket(down({ common_tls_context: { tls_certificates: [cert] } }), P)!.sessionTickets, true);
    assert.equal(translateDownstreamTransportSocket(down({ common_tls_context: { tls_certificates: [cert] }, disable_stateless_session_resumption: true }), P)!.sessionTickets, false);
  });
});
