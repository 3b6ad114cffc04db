// Runs one of the app's original probes locally, the way the kubelet would have run it against the pod.
//
// HTTP(S) GET: success on a status 200–399 (redirects are not followed; the kubelet also counts a
// redirect it does not follow as success); HTTPS skips certificate verification, as the kubelet does.
// TCP: success when the connection opens. gRPC: grpc.health.v1.Health/Check succeeds on grpc-status 0
// with status SERVING. Every probe has a deadline (the probe's timeoutSeconds) and opens a fresh
// connection that it closes, like the kubelet.

import { systemClock, type Clock } from '../../src/clock/clock';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import { decodeHealthCheckResponse, encodeHealthCheckRequest } from '../cluster/health-check-codec';
import type { AppProbeAction } from './app-probes';

export interface ProbeResult {
  readonly ok: boolean;
  /** What happened, for the probe's response body (the kubelet puts it into the pod's events). */
  readonly detail: string;
}

export interface ProbeTarget {
  /** Where the app listens (default 127.0.0.1). */
  readonly host?: string;
  /** HTTP probes without a Host header of their own send `<podIp>:<port>`, as the kubelet does. */
  readonly podIp?: string;
  /** The probe's deadline (default systemClock). */
  readonly clock?: Clock;
}

/** The kubelet reads at most this much of a probe's response body. */
const MAX_BODY = 10 * 1024;
const USER_AGENT = 'kube-probe/ferry';
const SERVING = 1;
const GRPC_STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** The most telling code of a socket error (a cancelled HTTP/2 stream carries the session's cause). */
function reason(err: NodeJS.ErrnoException): string {
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  return cause?.code ?? err.code ?? err.message;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Runs `start` with a deadline; `finish` resolves once, the timer is always cleared. */
function withDeadline(
  clock: Clock,
  timeoutMs: number,
  what: string,
  start: (finish: (r: ProbeResult) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let cleanup: () => void = () => undefined;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    const timer = clock.setTimeout(() => finish({ ok: false, detail: `${what}: timed out after ${timeoutMs} ms` }), timeoutMs);
    cleanup = start(finish);
    if (done) cleanup();
  });
}

function httpProbe(a: Extract<AppProbeAction, { type: 'http' }>, timeoutMs: number, target: ProbeTarget): Promise<ProbeResult> {
  const host = target.host ?? '127.0.0.1';
  const url = `${a.scheme.toLowerCase()}://${hostPort(host, a.port)}${a.path}`;
  const what = `HTTP GET ${url}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of a.headers) headers[name.toLowerCase()] = value;
  headers['user-agent'] ??= USER_AGENT;
  headers.accept ??= '*/*';
  headers.host ??= hostPort(target.podIp ?? host, a.port);
  headers.connection = 'close';
  return withDeadline(target.clock ?? systemClock, timeoutMs, what, (finish) => {
    const options: https.RequestOptions = { host, port: a.port, path: a.path, method: 'GET', headers, agent: false };
    if (a.scheme === 'HTTPS') options.rejectUnauthorized = false;
    const req = (a.scheme === 'HTTPS' ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk.slice(0, MAX_BODY - body.length);
      });
      const answer = (): void => {
        const ok = status >= 200 && status < 400;
        const excerpt = ok ? '' : body.trim().slice(0, 200).replace(/\s+/g, ' ');
        finish({ ok, detail: `${what}: status ${status}${excerpt ? ` (${excerpt})` : ''}` });
      };
      res.on('end', answer);
      res.on('error', answer); // the status line arrived; a cut body does not change the verdict
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, detail: `${what}: ${reason(err)}` }));
    req.end();
    return () => req.destroy();
  });
}

function tcpProbe(port: number, timeoutMs: number, target: ProbeTarget): Promise<ProbeResult> {
  const host = target.host ?? '127.0.0.1';
  const what = `TCP connect ${hostPort(host, port)}`;
  return withDeadline(target.clock ?? systemClock, timeoutMs, what, (finish) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => finish({ ok: true, detail: `${what}: connected` }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, detail: `${what}: ${reason(err)}` }));
    return () => socket.destroy();
  });
}

function grpcProbe(port: number, service: string, timeoutMs: number, target: ProbeTarget): Promise<ProbeResult> {
  const host = target.host ?? '127.0.0.1';
  const what = `gRPC health check ${hostPort(host, port)}${service ? ` service "${service}"` : ''}`;
  return withDeadline(target.clock ?? systemClock, timeoutMs, what, (finish) => {
    const session = http2.connect(`http://${hostPort(host, port)}`);
    session.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, detail: `${what}: ${reason(err)}` }));
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': USER_AGENT,
      'grpc-timeout': `${timeoutMs}m`,
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const note = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', (h) => {
      const status = h[':status'];
      if (status !== 200) finish({ ok: false, detail: `${what}: HTTP status ${status} (not a gRPC server?)` });
      note(h);
    });
    req.on('trailers', note);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (grpcStatus === undefined) return finish({ ok: false, detail: `${what}: no grpc-status` });
      if (grpcStatus !== '0') return finish({ ok: false, detail: `${what}: grpc-status ${grpcStatus}${grpcMessage ? ` (${grpcMessage})` : ''}` });
      const s = decodeHealthCheckResponse(Buffer.concat(chunks));
      if (s < 0) return finish({ ok: false, detail: `${what}: malformed HealthCheckResponse` });
      finish({ ok: s === SERVING, detail: `${what}: ${GRPC_STATUS_NAMES[s] ?? `status ${s}`}` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, detail: `${what}: ${reason(err)}` }));
    req.end(encodeHealthCheckRequest(service));
    return () => {
      req.close();
      session.destroy();
    };
  });
}

/** Runs one probe against the app; never rejects. */
export function runAppProbe(action: AppProbeAction, timeoutMs: number, target: ProbeTarget = {}): Promise<ProbeResult> {
  switch (action.type) {
    case 'http':
      return httpProbe(action, timeoutMs, target);
    case 'tcp':
      return tcpProbe(action.port, timeoutMs, target);
    case 'grpc':
      return grpcProbe(action.port, action.service, timeoutMs, target);
  }
}
