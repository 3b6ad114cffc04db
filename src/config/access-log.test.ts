// Tests for access_log translation: file/stdout/stderr loggers, text and JSON formats, refusals with their path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TEXT_FORMAT } from '../observability/access-log-format';
import { translateNetworkFilter } from './http-connection-manager';
import { assertConfigError, hcm } from './config.fixture';
import type { AccessLogConfig, HttpConnectionManagerConfig, TcpProxyConfig } from './types';

const PATH = 'listeners[0].filter_chains[0].filters[0]';
const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

function logsOf(accessLog: unknown[]): readonly AccessLogConfig[] {
  const n = translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm({ access_log: accessLog }) }, PATH);
  return (n as HttpConnectionManagerConfig).accessLogs;
}

const AL = `${PATH}.typed_config.access_log`;

test('file, stdout and stderr loggers with the default, text, inline-source and JSON formats', () => {
  const logs = logsOf([
    { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE, path: '/tmp/a.log' } },
    { name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT, log_format: { text_format_source: { inline_string: '%RESPONSE_CODE%\n' } } } },
    { typed_config: { '@type': STDERR, log_format: { json_format: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' }, omit_empty_values: true } } },
    { typed_config: { '@type': FILE, path: '/tmp/b.log', log_format: { text_format: '%DURATION%\n' } } },
    { typed_config: { '@type': FILE, path: '/tmp/c.log', json_format: { d: '%DURATION%' } } },
  ]);
  assert.deepEqual(logs.map((l) => l.target), [{ kind: 'file', path: '/tmp/a.log' }, { kind: 'stdout' }, { kind: 'stderr' }, { kind: 'file', path: '/tmp/b.log' }, { kind: 'file', path: '/tmp/c.log' }]);
  assert.deepEqual(logs.map((l) => l.format), [
    { kind: 'text', text: DEFAULT_TEXT_FORMAT },
    { kind: 'text', text: '%RESPONSE_CODE%\n' },
    { kind: 'json', fields: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' }, omitEmptyValues: true },
    { kind: 'text', text: '%DURATION%\n' },
    { kind: 'json', fields: { d: '%DURATION%' }, omitEmptyValues: false },
  ]);
  assert.equal(logs[0]!.field, `${AL}[0]`);
});

test('tcp_proxy takes access_log too', () => {
  const n = translateNetworkFilter({
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c', access_log: [{ typed_config: { '@type': STDOUT } }] },
  }, PATH) as TcpProxyConfig;
  assert.deepEqual(n.accessLogs.map((l) => l.target.kind), ['stdout']);
});

test('what Ferry cannot honour is refused with its path, never accepted and ignored', () => {
  assertConfigError(() => logsOf([{ name: 'x' }]), `${AL}[0].typed_config`, 'is required');
  assertConfigError(() => logsOf([{ typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig' } }]), `${AL}[0].typed_config.@type`, 'not supported');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT }, filter: { status_code_filter: {} } }]), `${AL}[0].filter`, 'not supported');
  assertConfigError(() => logsOf([{ typed_config: { '@type': FILE } }]), `${AL}[0].typed_config.path`, 'is required');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, log_format: { text_format: '%BOGUS%' } } }]), `${AL}[0].typed_config.log_format.text_format`, '%BOGUS%');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, log_format: { json_format: { a: '%REQ%' } } } }]), `${AL}[0].typed_config.log_format.json_format.a`, 'needs a header name');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, log_format: { text_format: 'a', json_format: {} } } }]), `${AL}[0].typed_config.log_format`, 'only one of');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, log_format: { text_format_source: { filename: '/etc/fmt' } } } }]), `${AL}[0].typed_config.log_format.text_format_source.filename`, 'not supported');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, log_format: { formatters: [{ name: 'x' }] } } }]), `${AL}[0].typed_config.log_format.formatters`, 'not supported');
  assertConfigError(() => logsOf([{ typed_config: { '@type': STDOUT, path: '/x' } }]), `${AL}[0].typed_config.path`, 'unknown field');
  assertConfigError(
    () => translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm({ access_log_options: { access_log_flush_interval: '1s' } }) }, PATH),
    `${PATH}.typed_config.access_log_options`, 'not supported');
});
