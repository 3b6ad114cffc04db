// The controller's access logs (`ferry controller --access-log`): every HCM and tcp_proxy of a sidecar's
// listeners gets one logger — stdout or a file, Envoy's default text line or a JSON object per line.

type Json = Record<string, unknown>;

export interface AccessLogSpec {
  /** `stdout`, or a file path in the sidecar's file system. */
  readonly path: string;
  readonly format: 'text' | 'json';
}

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** The JSON fields, named as in Istio's JSON access log, each an operator Envoy and Ferry both read. */
export const JSON_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  downstream_peer_uri_san: '%DOWNSTREAM_PEER_URI_SAN%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  route_name: '%ROUTE_NAME%',
});

/** One Envoy `access_log` entry for `spec`. */
export function accessLogEntry(spec: AccessLogSpec): Json {
  const logFormat = spec.format === 'json' ? { log_format: { json_format: JSON_ACCESS_LOG_FIELDS } } : {};
  if (spec.path === 'stdout') {
    return { name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', ...logFormat } };
  }
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: spec.path, ...logFormat } };
}

function withLogs(filter: Json, entry: Json): Json {
  const tc = filter.typed_config as Json | undefined;
  if (!tc || (tc['@type'] !== HCM_TYPE && tc['@type'] !== TCP_PROXY_TYPE)) return filter;
  return { ...filter, typed_config: { ...tc, access_log: [...((tc.access_log as Json[] | undefined) ?? []), entry] } };
}

/** A copy of `listener` whose every HCM and tcp_proxy also logs to `spec`; the input is not changed. */
export function withAccessLogs(listener: Json, spec: AccessLogSpec): Json {
  const entry = accessLogEntry(spec);
  const chain = (c: Json): Json => ({ ...c, filters: ((c.filters as Json[] | undefined) ?? []).map((f) => withLogs(f, entry)) });
  return {
    ...listener,
    ...(Array.isArray(listener.filter_chains) ? { filter_chains: (listener.filter_chains as Json[]).map(chain) } : {}),
    ...(listener.default_filter_chain ? { default_filter_chain: chain(listener.default_filter_chain as Json) } : {}),
  };
}
