// Generates the HAProxy configuration equivalent to each benchmark Envoy bootstrap (one thread, no logs).

import { serviceHost } from './envoy-bootstrap';

export interface HaproxyHopOptions {
  readonly listenPort: number;
  readonly upstreamPort: number;
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

function backend(name: string, port: number): string[] {
  return [`backend ${name}`, `  server s1 127.0.0.1:${port}`, ''];
}

/** One HTTP hop: frontend on 127.0.0.1:listenPort → backend with the single upstream server. */
export function haproxyHttpHop(opts: HaproxyHopOptions): string {
  return [
    ...header('http'),
    'frontend bench',
    `  bind 127.0.0.1:${opts.listenPort}`,
    '  default_backend upstream',
    '',
    ...backend('upstream', opts.upstreamPort),
  ].join('\n');
}

/** One opaque TCP hop. */
export function haproxyTcpHop(opts: HaproxyHopOptions): string {
  return [
    ...header('tcp'),
    'frontend bench_tcp',
    `  bind 127.0.0.1:${opts.listenPort}`,
    '  default_backend upstream',
    '',
    ...backend('upstream', opts.upstreamPort),
  ].join('\n');
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
