// Cluster health_checks[] → HealthCheckConfig (HTTP, TCP and gRPC checkers).

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { HealthCheckConfig } from './types';
import { duration, headersToAdd, positiveDuration } from './common';
import { Reader } from './reader';

type Range = readonly [number, number];

function statusRanges(r: Reader, key: string, def: Range[]): Range[] {
  if (!r.has(key)) return def;
  return r.objList(key, (s) => {
    const start = s.int('start', 0, 100, 599);
    const end = s.int('end', 0, 101, 600);
    s.done();
    if (end <= start) throw new ConfigError(s.path, `end (${end}) must be greater than start (${start})`);
    return [start, end] as const;
  });
}

function payload(v: unknown, path: string): Buffer {
  const r = new Reader(v, path);
  if (r.has('text') === r.has('binary')) throw new ConfigError(path, 'exactly one of text and binary is required');
  let out: Buffer;
  if (r.has('text')) {
    const text = r.str('text');
    if (!/^([0-9a-fA-F]{2})+$/.test(text)) throw new ConfigError(r.at('text'), 'must be non-empty hex');
    out = Buffer.from(text, 'hex');
  } else {
    const b = r.get('binary');
    out = Buffer.isBuffer(b) ? Buffer.from(b) : Buffer.from(String(b), 'base64');
  }
  r.done();
  return out;
}

function check(r: Reader): HealthCheckConfig['check'] {
  const kinds = ['http_health_check', 'tcp_health_check', 'grpc_health_check', 'custom_health_check'].filter((k) => r.has(k));
  if (kinds.length !== 1) throw new ConfigError(r.path, 'exactly one of http_health_check, tcp_health_check, grpc_health_check is required');
  r.reject('custom_health_check');
  const c = r.obj(kinds[0])!;
  let out: HealthCheckConfig['check'];
  if (kinds[0] === 'http_health_check') {
    const path = c.requiredStr('path');
    const host = c.str('host');
    const codec = c.enumOf('codec_client_type', ['HTTP1', 'HTTP2', 'HTTP3'], 'HTTP1', 'codec_client_type');
    if (codec === 'HTTP3') throw new UnsupportedConfigError(c.at('codec_client_type'), 'HTTP3 is not supported');
    c.enumOf('method', ['METHOD_UNSPECIFIED', 'GET'], 'GET', 'method (only GET is supported)');
    out = {
      kind: 'http',
      path,
      host: host === '' ? null : host,
      expectedStatuses: statusRanges(c, 'expected_statuses', [[200, 201]]),
      retriableStatuses: statusRanges(c, 'retriable_statuses', []),
      requestHeadersToAdd: headersToAdd(c, 'request_headers_to_add'),
      http2: codec === 'HTTP2',
    };
    c.reject('send', 'receive', 'request_headers_to_remove', 'service_name_matcher', 'response_buffer_size');
  } else if (kinds[0] === 'tcp_health_check') {
    const s = c.get('send');
    out = { kind: 'tcp', send: s === undefined ? null : payload(s, c.at('send')), receive: c.list('receive', payload) };
    c.reject('proxy_protocol_config');
  } else {
    const authority = c.str('authority');
    out = { kind: 'grpc', serviceName: c.str('service_name'), authority: authority === '' ? null : authority };
    c.reject('initial_metadata');
  }
  c.done();
  return out;
}

/** health_checks: with more than one, each needs a unique name (as Envoy 1.40 requires). */
export function translateHealthChecks(r: Reader, key: string): HealthCheckConfig[] {
  const names: string[] = [];
  const out = r.list(key, (v, path) => translateHealthCheck(v, path, names));
  if (out.length > 1) {
    names.forEach((n, i) => {
      if (n === '') throw new ConfigError(`${r.at(key)}[${i}].name`, 'is required when several health checks are configured');
      if (names.indexOf(n) !== i) throw new ConfigError(`${r.at(key)}[${i}].name`, `duplicate health check name ${n}`);
    });
  }
  return out;
}

export function translateHealthCheck(v: unknown, path: string, names: string[] = []): HealthCheckConfig {
  const r = new Reader(v, path);
  names.push(r.str('name'));
  const timeoutMs = positiveDuration(r, 'timeout');
  const intervalMs = positiveDuration(r, 'interval');
  if (!r.has('unhealthy_threshold')) throw new ConfigError(r.at('unhealthy_threshold'), 'is required');
  if (!r.has('healthy_threshold')) throw new ConfigError(r.at('healthy_threshold'), 'is required');
  const noTrafficIntervalMs = positiveDuration(r, 'no_traffic_interval', 60_000);
  const unhealthyIntervalMs = positiveDuration(r, 'unhealthy_interval', intervalMs);
  const out: HealthCheckConfig = {
    timeoutMs,
    intervalMs,
    intervalJitterMs: duration(r, 'interval_jitter', 0),
    intervalJitterPercent: r.int('interval_jitter_percent', 0, 0, 0xffffffff),
    initialJitterMs: duration(r, 'initial_jitter', 0),
    unhealthyThreshold: r.int('unhealthy_threshold', 0, 0, 0xffffffff),
    healthyThreshold: r.int('healthy_threshold', 0, 0, 0xffffffff),
    noTrafficIntervalMs,
    noTrafficHealthyIntervalMs: positiveDuration(r, 'no_traffic_healthy_interval', noTrafficIntervalMs),
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: positiveDuration(r, 'unhealthy_edge_interval', unhealthyIntervalMs),
    healthyEdgeIntervalMs: positiveDuration(r, 'healthy_edge_interval', intervalMs),
    reuseConnection: r.bool('reuse_connection', true),
    check: check(r),
  };
  r.ignore('event_log_path', 'event_logger', 'always_log_health_check_success', 'always_log_health_check_failures');
  r.reject('alt_port', 'tls_options', 'transport_socket_match_criteria', 'event_service');
  r.done();
  return out;
}
