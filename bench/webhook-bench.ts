// The `webhook` scenario: AdmissionReviews POSTed by fortio at a fixed rate to a real `ferry webhook` over HTTPS.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { FerryError } from '../src/errors';
import { fortioLoadArgs } from './fortio-command';
import { parseFortioResult } from './fortio-result';
import type { RunSpec } from './plan';
import { cpuSecondsOf, freePort, rssMbOf, runToCompletion, startProcess, waitForPort, type ManagedProcess } from './processes';
import { emptyResult, round } from './run-result';
import type { Env } from './env';
import type { RunResult } from './types';
import { benchAdmissionReview, isInjectedAnswer } from './webhook-review';

/** The target: p99 under 5 ms. */
export const WEBHOOK_TARGET_P99_MS = 5;

/** A self-signed ECDSA P-256 serving certificate for 127.0.0.1, made with openssl. */
function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'webhook-cert.pem');
  const key = path.join(dir, 'webhook-key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=ferry-webhook.bench', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key };
}

/** One POST /inject, trusting the self-signed certificate; resolves to the status and body. */
function postReview(port: number, ca: Buffer, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/inject', ca, headers: { 'content-type': 'application/json' }, timeout: 5000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function fortio(env: Env, spec: RunSpec, url: string, reviewFile: string, seconds: number, jsonPath: string | null, label: string): Promise<void> {
  const args = fortioLoadArgs({
    url, qps: spec.qps, connections: spec.connections, durationS: seconds, payloadBytes: 0, jsonPath,
    payloadFile: reviewFile, contentType: 'application/json', insecure: true,
  });
  const r = await runToCompletion({
    name: 'fortio load', command: env.tools.fortio, args, cpu: env.loadCpu, tasksetPath: env.tools.taskset,
    logPath: path.join(env.launch.workDir, `${label}.fortio.log`), timeoutMs: (seconds + 30) * 1000,
  });
  if (r.code !== 0) throw new FerryError('FERRY_ERR_BENCH_LOAD', r.output);
}

export async function runWebhookScenario(env: Env, spec: RunSpec): Promise<RunResult> {
  const dir = env.launch.workDir;
  const { cert, key } = selfSignedCert(dir);
  const reviewFile = path.join(dir, 'webhook-review.json');
  const body = JSON.stringify(benchAdmissionReview());
  writeFileSync(reviewFile, body);
  const port = await freePort();
  const webhook: ManagedProcess = startProcess({
    name: 'ferry webhook',
    command: process.execPath,
    args: [path.join(env.launch.repoRoot, 'bin', 'ferry'), 'webhook', '--listen', `127.0.0.1:${port}`, '--cert', cert, '--key', key],
    cpu: env.launch.proxyCpu, tasksetPath: env.tools.taskset, logPath: path.join(dir, 'webhook.log'),
  });
  try {
    await waitForPort(port, 15_000, [webhook]);
    // The load must be the real thing: the answer carries a patch, not a skip or an error.
    const first = await postReview(port, readFileSync(cert), body);
    if (first.status !== 200 || !isInjectedAnswer(first.text)) {
      throw new FerryError('FERRY_ERR_BENCH_HEALTH', `webhook did not inject the benchmark pod: HTTP ${first.status} ${first.text.slice(0, 200)}`);
    }
    const url = `https://127.0.0.1:${port}/inject`;
    const label = 'webhook';
    if (spec.warmupS > 0) await fortio(env, spec, url, reviewFile, spec.warmupS, null, `${label}.warmup`);
    const cpuBefore = cpuSecondsOf([webhook.pid], env.clockTicks);
    const jsonPath = path.join(dir, `${label}.json`);
    await fortio(env, spec, url, reviewFile, spec.durationS, jsonPath, label);
    const cpu = cpuSecondsOf([webhook.pid], env.clockTicks) - cpuBefore;
    const rss = rssMbOf([webhook.pid]);
    if (webhook.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', webhook.describeExit());
    const s = parseFortioResult(JSON.parse(readFileSync(jsonPath, 'utf8')));
    return emptyResult(spec, {
      duration_s: round(s.durationS, 3), qps_actual: round(s.qpsActual, 1),
      p50_ms: round(s.p50Ms), p90_ms: round(s.p90Ms), p99_ms: round(s.p99Ms), p999_ms: round(s.p999Ms),
      requests: s.requests, errors: s.errors,
      proxy_cpu_s_per_1k_req: s.requests > 0 ? round((cpu * 1000) / s.requests, 5) : null,
      proxy_rss_mb: round(rss, 1),
    });
  } finally {
    await webhook.stop();
  }
}
