// Generates the HAProxy configuration equivalent to each benchmark Envoy bootstrap (one thread, no logs).

import { serviceHost, type HopTls } from './envoy-bootstrap';

/** HAProxy wants the certificate chain and its key in one file (`crt`). */
export interface HaproxyTls extends HopTls {
  readonly combinedFile: string;
}

export interface HaproxyHopOptions {
  readonly listenPort: number;
  readonly upstreamPort: number;
  /** mTLS on the server line (client, hop A) or on the bind line (server, hop B); absent: plain text. */
  readonly tls?: HaproxyTls;
}

export interface HaproxyManyServices extends HaproxyHopOptions {
  readonly services: number;
  /** Where the caller writes `mapFile` (host → backend), referenced by the frontend. */
  readonly mapPath: string;
}

function header(mode: 'http' | 'tcp'): string[] {
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096', // within a 20k descriptor limit; far above the 16–32 connections used
    '',
    'defaults',
    `  mode ${mode}`,
    '  timeout connect 1s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...(mode === 'http' ? ['  option http-keep-alive', '  http-reuse always'] : []),
    '',
  ];
}

function backend(name: string, port: number, serverTls = ''): string[] {
  return [`backend ${name}`, `  server s1 127.0.0.1:${port}${serverTls}`, ''];
}

/** The SPIFFE ID as HAProxy's `hex` converter prints bytes (upper case): how it appears inside the DER. */
export function spiffeIdHex(id: string): string {
  return Buffer.from(id, 'utf8').toString('hex').toUpperCase();
}

/**
 * TLS keywords for the hop. Client (A), on the server line: its certificate, and the peer's chain
 * verified against the Ferry root (`verify required ca-file`). HAProxy 2.6 cannot check a URI SAN
 * there: `verifyhost` compares only DNS SANs and the CN, and workload certificates carry only the
 * SPIFFE URI. Server (B), on the bind line: its certificate, a client certificate required and
 * verified against the root, and — once per connection (`tcp-request session`) — the client's
 * SPIFFE ID looked for in the certificate's DER bytes (no SAN fetch exists in 2.6; the root signs
 * only SPIFFE URIs, so the bytes can only come from the URI SAN).
 */
function tlsParts(t: HaproxyTls | undefined, http: boolean): { bind: string; server: string; session: string[] } {
  if (!t) return { bind: '', server: '', session: [] };
  const alpn = http ? ' alpn http/1.1' : '';
  const common = ` ssl crt ${t.combinedFile} ca-file ${t.caFile} verify required${alpn}`;
  if (t.role === 'client') return { bind: '', server: common, session: [] };
  return { bind: common, server: '', session: [`  tcp-request session reject unless { ssl_c_der,hex -m sub ${spiffeIdHex(t.peerSpiffeId)} }`] };
}

function hop(mode: 'http' | 'tcp', frontend: string, opts: HaproxyHopOptions): string {
  const t = tlsParts(opts.tls, mode === 'http');
  return [
    ...header(mode),
    `frontend ${frontend}`,
    `  bind 127.0.0.1:${opts.listenPort}${t.bind}`,
    ...t.session,
    '  default_backend upstream',
    '',
    ...backend('upstream', opts.upstreamPort, t.server),
  ].join('\n');
}

/** One HTTP hop: frontend on 127.0.0.1:listenPort → backend with the single upstream server. */
export function haproxyHttpHop(opts: HaproxyHopOptions): string {
  return hop('http', 'bench', opts);
}

/** One opaque TCP hop. */
export function haproxyTcpHop(opts: HaproxyHopOptions): string {
  return hop('tcp', 'bench_tcp', opts);
}

/** `services` backends `svc-<i>`, chosen by Host through a map file (HAProxy's idiom for many vhosts). */
export function haproxyManyServices(opts: HaproxyManyServices): { readonly config: string; readonly mapFile: string } {
  const lines = [
    ...header('http'),
    'frontend bench',
    `  bind 127.0.0.1:${opts.listenPort}`,
    `  use_backend %[req.hdr(host),lower,word(1,:),map(${opts.mapPath})]`,
    '',
  ];
  const map: string[] = [];
  for (let i = 0; i < opts.services; i++) {
    lines.push(...backend(`svc-${i}`, opts.upstreamPort));
    map.push(`${serviceHost(i)} svc-${i}`);
  }
  return { config: lines.join('\n'), mapFile: map.join('\n') + '\n' };
}
