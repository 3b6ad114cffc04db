// Reads the JSON that `fortio load -json FILE` writes into the few figures the benchmark reports.

import { FerryError } from '../src/errors';

export interface FortioSummary {
  readonly runType: 'HTTP' | 'TCP';
  readonly qpsActual: number;
  readonly durationS: number;
  readonly requests: number;
  /** Responses that are not HTTP 200 (or TCP "OK"), socket errors (-1) included. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Payload bytes received per second (TCP runs; 0 for HTTP). */
  readonly bytesReceivedPerS: number;
}

function fail(field: string, message: string): never {
  throw new FerryError('FERRY_ERR_BENCH_FORTIO', `fortio result: ${field}: ${message}`);
}

function num(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'must be a finite number');
  return value;
}

function obj(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object');
  return value as Record<string, unknown>;
}

/** Percentile (e.g. 99.9) of the duration histogram, in milliseconds; fortio must have been run with `-p` naming it. */
function percentileMs(histogram: Record<string, unknown>, wanted: number): number {
  const list = histogram['Percentiles'];
  if (!Array.isArray(list)) fail('DurationHistogram.Percentiles', 'missing (no requests completed?)');
  for (const entry of list) {
    const e = obj(entry, 'DurationHistogram.Percentiles[]');
    if (num(e['Percentile'], 'DurationHistogram.Percentiles[].Percentile') === wanted) {
      return num(e['Value'], `DurationHistogram.Percentiles[p${wanted}].Value`) * 1000;
    }
  }
  return fail('DurationHistogram.Percentiles', `no p${wanted} (run fortio with -p 50,90,99,99.9)`);
}

export function parseFortioResult(json: unknown): FortioSummary {
  const root = obj(json, '(root)');
  const runType = root['RunType'];
  if (runType !== 'HTTP' && runType !== 'TCP') fail('RunType', `expected "HTTP" or "TCP", got ${JSON.stringify(runType)}`);
  const histogram = obj(root['DurationHistogram'], 'DurationHistogram');
  const codes = obj(root['RetCodes'] ?? {}, 'RetCodes');
  const okCode = runType === 'HTTP' ? '200' : 'OK';
  let requests = 0;
  let errors = 0;
  for (const [code, count] of Object.entries(codes)) {
    const n = num(count, `RetCodes.${code}`);
    requests += n;
    if (code !== okCode) errors += n;
  }
  const durationS = num(root['ActualDuration'], 'ActualDuration') / 1e9;
  const received = runType === 'TCP' ? num(root['BytesReceived'] ?? 0, 'BytesReceived') : 0;
  return {
    runType,
    qpsActual: num(root['ActualQPS'], 'ActualQPS'),
    durationS,
    requests,
    errors,
    p50Ms: percentileMs(histogram, 50),
    p90Ms: percentileMs(histogram, 90),
    p99Ms: percentileMs(histogram, 99),
    p999Ms: percentileMs(histogram, 99.9),
    bytesReceivedPerS: durationS > 0 ? received / durationS : 0,
  };
}
