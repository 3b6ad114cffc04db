// TLS transport sockets: DownstreamTlsContext / UpstreamTlsContext → Ferry's TLS configs.

import { ConfigError, UnsupportedConfigError } from '../errors';
import { WORKLOAD_CERT_SECRET, WORKLOAD_ROOT_SECRET, type DownstreamTlsConfig, type StringMatcherConfig, type UpstreamTlsConfig } from './types';
import { dataSource, stringMatcher } from './common';
import { Reader } from './reader';

export const TLS_SOCKET = 'envoy.transport_sockets.tls';
export const RAW_BUFFER_SOCKET = 'envoy.transport_sockets.raw_buffer';
const TYPE_PREFIX = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.';
export const DOWNSTREAM_TLS_TYPE = `${TYPE_PREFIX}DownstreamTlsContext`;
export const UPSTREAM_TLS_TYPE = `${TYPE_PREFIX}UpstreamTlsContext`;
const RAW_BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

type TlsVersion = 'TLSv1.2' | 'TLSv1.3' | null;

interface CommonTls {
  certChain: Buffer | null;
  privateKey: Buffer | null;
  ca: Buffer | null;
  matchSubjectAltNames: StringMatcherConfig[];
  alpnProtocols: string[];
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  workloadCertificate: boolean;
  workloadTrustBundle: boolean;
}

/** An SDS secret reference; Ferry resolves only the workload identity's names, in-process. */
function sdsSecret(v: unknown, path: string, expected: string): void {
  const r = new Reader(v, path);
  const name = r.str('name');
  if (name !== expected) {
    throw new UnsupportedConfigError(r.at('name'), `SDS secret ${JSON.stringify(name)} is not supported (only ${JSON.stringify(expected)}, the workload identity)`);
  }
  // Where the secret would be fetched from does not matter: the sidecar's identity manager holds it.
  r.ignore('sds_config');
  r.done();
}

function validationContext(vc: Reader, out: CommonTls): void {
  const ca = vc.get('trusted_ca');
  if (ca !== undefined) out.ca = dataSource(ca, vc.at('trusted_ca'));
  out.matchSubjectAltNames.push(
    ...vc.objList('match_typed_subject_alt_names', (m) => {
      const t = m.enumOf('san_type', ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'], 'SAN_TYPE_UNSPECIFIED', 'san_type');
      if (t !== 'DNS' && t !== 'URI') {
        throw new UnsupportedConfigError(m.at('san_type'), `${t} is not supported (only DNS and URI)`);
      }
      const matcher = m.get('matcher');
      if (matcher === undefined) throw new ConfigError(m.at('matcher'), 'is required');
      const sm = stringMatcher(matcher, m.at('matcher'));
      m.reject('oid');
      m.done();
      return sm;
    }),
    ...vc.list('match_subject_alt_names', stringMatcher),
  );
  vc.reject(
    'verify_certificate_spki',
    'verify_certificate_hash',
    'crl',
    'allow_expired_certificate',
    'custom_validator_config',
    'max_verify_depth',
    'system_root_certs',
    'only_verify_leaf_cert_crl',
    'custom_signer_config',
  );
  vc.enumOf('trust_chain_verification', ['VERIFY_TRUST_CHAIN'], 'VERIFY_TRUST_CHAIN', 'trust_chain_verification');
  vc.ignore('watched_directory');
  vc.done();
}

function tlsVersion(r: Reader, key: string): TlsVersion {
  const v = r.enumOf(key, ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'], 'TLS_AUTO', 'TLS version');
  if (v === 'TLS_AUTO') return null;
  if (v === 'TLSv1_0' || v === 'TLSv1_1') throw new UnsupportedConfigError(r.at(key), `${v} is not supported`);
  return v === 'TLSv1_2' ? 'TLSv1.2' : 'TLSv1.3';
}

function commonTlsContext(v: unknown, path: string): CommonTls {
  const r = new Reader(v, path);
  const out: CommonTls = {
    certChain: null,
    privateKey: null,
    ca: null,
    matchSubjectAltNames: [],
    alpnProtocols: r.strList('alpn_protocols'),
    minVersion: null,
    maxVersion: null,
    workloadCertificate: false,
    workloadTrustBundle: false,
  };
  const p = r.obj('tls_params');
  if (p) {
    out.minVersion = tlsVersion(p, 'tls_minimum_protocol_version');
    out.maxVersion = tlsVersion(p, 'tls_maximum_protocol_version');
    p.reject('cipher_suites', 'ecdh_curves', 'signature_algorithms', 'compliance_policies');
    p.done();
    if (out.minVersion === 'TLSv1.3' && out.maxVersion === 'TLSv1.2') {
      throw new ConfigError(p.path, 'tls_minimum_protocol_version is above tls_maximum_protocol_version');
    }
  }
  const certs = r.objList('tls_certificates', (c) => {
    const chain = c.get('certificate_chain');
    const key = c.get('private_key');
    if (chain === undefined) throw new ConfigError(c.at('certificate_chain'), 'is required');
    if (key === undefined) throw new ConfigError(c.at('private_key'), 'is required');
    const res = { chain: dataSource(chain, c.at('certificate_chain')), key: dataSource(key, c.at('private_key')) };
    c.reject('password', 'ocsp_staple', 'signed_certificate_timestamp', 'private_key_provider', 'pkcs12');
    c.ignore('watched_directory');
    c.done();
    return res;
  });
  if (certs.length > 1) throw new UnsupportedConfigError(r.at('tls_certificates'), 'more than one certificate is not supported');
  if (certs.length === 1) {
    out.certChain = certs[0].chain;
    out.privateKey = certs[0].key;
  }
  const sdsCerts = r.list('tls_certificate_sds_secret_configs', (x, p) => sdsSecret(x, p, WORKLOAD_CERT_SECRET));
  if (sdsCerts.length > 1) throw new UnsupportedConfigError(r.at('tls_certificate_sds_secret_configs'), 'more than one certificate is not supported');
  if (sdsCerts.length === 1) {
    if (certs.length > 0) throw new ConfigError(r.at('tls_certificate_sds_secret_configs'), 'cannot be combined with tls_certificates');
    out.workloadCertificate = true;
  }
  const vc = r.obj('validation_context');
  if (vc) validationContext(vc, out);
  const vcSds = r.get('validation_context_sds_secret_config');
  if (vcSds !== undefined) {
    sdsSecret(vcSds, r.at('validation_context_sds_secret_config'), WORKLOAD_ROOT_SECRET);
    out.workloadTrustBundle = true;
  }
  const cvc = r.obj('combined_validation_context');
  if (cvc) {
    const d = cvc.obj('default_validation_context');
    if (d) validationContext(d, out);
    const sec = cvc.get('validation_context_sds_secret_config');
    if (sec === undefined) throw new ConfigError(cvc.at('validation_context_sds_secret_config'), 'is required');
    sdsSecret(sec, cvc.at('validation_context_sds_secret_config'), WORKLOAD_ROOT_SECRET);
    out.workloadTrustBundle = true;
    cvc.done();
  }
  if ((vc || vcSds !== undefined || cvc) && [vc, vcSds, cvc].filter((x) => x !== undefined && x !== null).length > 1) {
    throw new ConfigError(r.path, 'only one of validation_context, validation_context_sds_secret_config, combined_validation_context may be set');
  }
  if (out.matchSubjectAltNames.length > 0 && !out.ca && !out.workloadTrustBundle) {
    throw new ConfigError(r.at('validation_context'), 'SAN-based verification of peer certificates without trusted CA is insecure and not allowed');
  }
  r.reject(
    'tls_certificate_provider_instance',
    'tls_certificate_certificate_provider',
    'tls_certificate_certificate_provider_instance',
    'validation_context_certificate_provider',
    'validation_context_certificate_provider_instance',
    'custom_handshaker',
    'handshaker_kind',
    'key_log',
    'custom_tls_certificate_selector',
  );
  r.done();
  return out;
}

/** A transport_socket: null for raw_buffer, else the TLS context message. */
function tlsSocketContext(v: unknown, path: string, expectedType: string): Reader | null {
  const ts = new Reader(v, path);
  const name = ts.str('name');
  const tc = ts.obj('typed_config');
  ts.done();
  const type = tc ? tc.str('@type') : '';
  if (type === RAW_BUFFER_TYPE || (!tc && name === RAW_BUFFER_SOCKET)) {
    tc?.done();
    return null;
  }
  if (!tc) throw new ConfigError(ts.at('typed_config'), `is required for ${name || 'a transport socket'}`);
  if (type !== expectedType) {
    throw new UnsupportedConfigError(tc.at('@type'), `${type || '(none)'} is not supported (expected ${expectedType})`);
  }
  return tc;
}

/** The most TLS sessions kept per upstream endpoint (`max_session_keys`): a few suffice, each holds the peer's chain. */
export const MAX_SESSION_KEYS = 16;

/** A downstream transport_socket (filter chain). */
export function translateDownstreamTransportSocket(v: unknown, path: string): DownstreamTlsConfig | null {
  const tc = tlsSocketContext(v, path, DOWNSTREAM_TLS_TYPE);
  if (!tc) return null;
  const c = tc.get('common_tls_context');
  if (c === undefined) throw new ConfigError(tc.at('common_tls_context'), 'is required');
  const common = commonTlsContext(c, tc.at('common_tls_context'));
  const requireClientCertificate = tc.bool('require_client_certificate', false);
  tc.reject(
    'require_sni',
    'session_ticket_keys',
    'session_ticket_keys_sds_secret_config',
    'session_timeout',
    'ocsp_staple_policy',
    'full_scan_certs_on_sni_mismatch',
    'prefer_client_ciphers',
  );
  // Stateless: tickets (node:tls issues them by default). Stateful: a server-side session cache,
  // which Ferry never keeps, so turning it off changes nothing.
  const sessionTickets = !tc.bool('disable_stateless_session_resumption', false);
  tc.ignore('disable_stateful_session_resumption');
  tc.done();
  if ((!common.certChain || !common.privateKey) && !common.workloadCertificate) {
    throw new ConfigError(tc.at('common_tls_context.tls_certificates'), 'a server certificate is required');
  }
  if (requireClientCertificate && !common.ca && !common.workloadTrustBundle) {
    throw new ConfigError(tc.at('require_client_certificate'), 'requires common_tls_context.validation_context.trusted_ca');
  }
  return {
    certChain: common.certChain,
    privateKey: common.privateKey,
    ca: common.ca,
    requireClientCertificate,
    matchSubjectAltNames: common.matchSubjectAltNames,
    alpnProtocols: common.alpnProtocols,
    sessionTickets,
    minVersion: common.minVersion,
    maxVersion: common.maxVersion,
    workloadCertificate: common.workloadCertificate,
    workloadTrustBundle: common.workloadTrustBundle,
  };
}

/** An upstream transport_socket (cluster). */
export function translateUpstreamTransportSocket(v: unknown, path: string): UpstreamTlsConfig | null {
  const tc = tlsSocketContext(v, path, UPSTREAM_TLS_TYPE);
  if (!tc) return null;
  const c = tc.get('common_tls_context');
  const common = c === undefined ? commonTlsContext({}, tc.at('common_tls_context')) : commonTlsContext(c, tc.at('common_tls_context'));
  const sni = tc.optStr('sni');
  if (sni !== null && sni.length > 255) throw new ConfigError(tc.at('sni'), 'is longer than 255 bytes');
  tc.reject('allow_renegotiation', 'enforce_rsa_key_usage', 'auto_host_sni', 'auto_sni_san_validation');
  const maxSessionKeys = tc.int('max_session_keys', 1, 0, MAX_SESSION_KEYS);
  tc.done();
  return {
    sni: sni === '' ? null : sni,
    alpnProtocols: common.alpnProtocols,
    ca: common.ca,
    certChain: common.certChain,
    privateKey: common.privateKey,
    matchSubjectAltNames: common.matchSubjectAltNames,
    minVersion: common.minVersion,
    maxVersion: common.maxVersion,
    workloadCertificate: common.workloadCertificate,
    workloadTrustBundle: common.workloadTrustBundle,
    maxSessionKeys,
  };
}
