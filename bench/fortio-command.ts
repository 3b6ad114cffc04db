// Builds the fortio command lines: the upstream echo server and the load client.

export interface FortioServerPorts {
  readonly httpPort: number;
  readonly tcpEchoPort: number;
}

/** `fortio server` with only the HTTP echo and TCP echo listeners, on loopback. */
export function fortioServerArgs(ports: FortioServerPorts): string[] {
  return [
    'server',
    '-quiet',
    '-http-port', `127.0.0.1:${ports.httpPort}`,
    '-tcp-port', `127.0.0.1:${ports.tcpEchoPort}`,
    '-grpc-port', 'disabled',
    '-redirect-port', 'disabled',
    '-udp-port', 'disabled',
    '-ui-path', '',
    '-echo-debug-path', '',
  ];
}

export interface FortioLoadOptions {
  /** `http://127.0.0.1:<port>/echo` or `tcp://127.0.0.1:<port>`. */
  readonly url: string;
  readonly qps: number; // 0 = max
  readonly connections: number;
  readonly durationS: number;
  readonly payloadBytes: number;
  /** Where fortio writes its JSON result; null = none (warm-up). */
  readonly jsonPath: string | null;
  readonly hostHeader?: string;
  /** POST this file's bytes instead of a generated payload (payloadBytes is then ignored). */
  readonly payloadFile?: string;
  readonly contentType?: string;
  /** HTTPS without verifying the server's certificate (fortio -k). */
  readonly insecure?: boolean;
}

/** Percentiles the result must carry (parseFortioResult reads exactly these). */
export const PERCENTILES = '50,90,99,99.9';

/** `fortio load`; 10 µs histogram resolution so sub-millisecond percentiles are not interpolated across 1 ms buckets. */
export function fortioLoadArgs(o: FortioLoadOptions): string[] {
  const args = [
    'load',
    '-quiet',
    '-qps', String(o.qps),
    '-c', String(o.connections),
    '-t', `${o.durationS}s`,
    ...(o.payloadFile !== undefined ? ['-payload-file', o.payloadFile] : ['-payload-size', String(o.payloadBytes)]),
    '-r', '0.00001',
    '-p', PERCENTILES,
  ];
  if (o.contentType !== undefined) args.push('-content-type', o.contentType);
  if (o.insecure === true) args.push('-k');
  if (o.jsonPath !== null) args.push('-json', o.jsonPath);
  if (o.hostHeader !== undefined) args.push('-H', `Host: ${o.hostHeader}`);
  args.push(o.url);
  return args;
}
