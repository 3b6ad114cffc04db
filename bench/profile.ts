// Profiling mode: runs Ferry (one hop or a pair) under one benchmark load with `node --cpu-prof` or
// `--heap-prof`, then prints the hot spots.
//
// Usage: node dist/bench/profile.js [--scenario=max-rps|latency-1000rps|rss-1000-services|tcp-throughput]
//          [--topology=single|pair] [--seconds=N] [--heap | --plain] [--top=N]
// `--plain` runs without a profiler (a quick A/B measurement of one scenario); `--ferry=DIR` runs the
// build in another checkout (say, the commit before a change) for a side-by-side comparison. Writes the .cpuprofile / .heapprofile files (open them in Chrome DevTools) under bench/results/tmp/.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../src/errors';
import { renderSummary, summarizeCpuProfile, type CpuProfile } from './cpu-profile-summary';
import { httpHopBootstrap, manyServicesBootstrap, serviceHost, tcpHopBootstrap } from './envoy-bootstrap';
import { fortioLoadArgs, fortioServerArgs } from './fortio-command';
import { parseFortioResult } from './fortio-result';
import { MANY_SERVICES } from './plan';
import { parseCpuTicks, parseRssMb } from './proc-stats';
import {
  freePort, httpGet, killAllNow, runToCompletion, startProcess, stopAll, waitForEcho, waitForHttp200, waitForPort, type ManagedProcess,
} from './processes';
import { locateTools } from './tools';

interface Options {
  scenario: 'max-rps' | 'latency-1000rps' | 'rss-1000-services' | 'tcp-throughput';
  topology: 'single' | 'pair';
  seconds: number;
  heap: boolean;
  plain: boolean;
  ferryRoot: string | null;
  top: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { scenario: 'max-rps', topology: 'single', seconds: 10, heap: false, plain: false, ferryRoot: null, top: 30 };
  for (const a of argv) {
    const [k, v] = a.split('=', 2) as [string, string | undefined];
    if (k === '--scenario' && (v === 'max-rps' || v === 'latency-1000rps' || v === 'rss-1000-services' || v === 'tcp-throughput')) o.scenario = v;
    else if (k === '--topology' && (v === 'single' || v === 'pair')) o.topology = v;
    else if (k === '--seconds' && Number(v) > 0) o.seconds = Number(v);
    else if (k === '--top' && Number(v) > 0) o.top = Number(v);
    else if (k === '--heap' && v === undefined) o.heap = true;
    else if (k === '--plain' && v === undefined) o.plain = true;
    else if (k === '--ferry' && v) o.ferryRoot = path.resolve(v);
    else throw new FerryError('FERRY_ERR_BENCH_ARGS', `unknown or bad argument ${a} (usage: profile.js [--scenario=max-rps|latency-1000rps|rss-1000-services|tcp-throughput] [--topology=single|pair] [--seconds=N] [--heap | --plain] [--ferry=DIR] [--top=N])`);
  }
  return o;
}

function log(message: string): void {
  process.stderr.write(`profile: ${message}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const o = parseArgs(argv);
  const tools = locateTools();
  const pinned = os.availableParallelism() >= 2 && tools.taskset !== null;
  const repoRoot = path.resolve(__dirname, '..', '..');
  const workDir = path.join(repoRoot, 'bench', 'results', 'tmp', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(workDir, { recursive: true });
  const many = o.scenario === 'rss-1000-services';
  const tcp = o.scenario === 'tcp-throughput';
  const ports = { http: await freePort(), tcp: await freePort() };
  const upstream = startProcess({
    name: 'fortio server', command: tools.fortio, args: fortioServerArgs({ httpPort: ports.http, tcpEchoPort: ports.tcp }),
    cpu: pinned ? 0 : null, tasksetPath: tools.taskset, logPath: path.join(workDir, 'upstream.log'),
  });
  const procs: ManagedProcess[] = [];
  try {
    await waitForPort(ports.http, 10_000, [upstream]);
    await waitForPort(ports.tcp, 10_000, [upstream]);
    let next = tcp ? ports.tcp : ports.http;
    for (const hop of o.topology === 'pair' ? ['b', 'a'] : ['a']) {
      const listenPort = await freePort();
      const adminPort = await freePort();
      const hopPorts = { listenPort, upstreamPort: next, adminPort };
      const configPath = path.join(workDir, `ferry-${hop}.yaml`);
      writeFileSync(configPath, many ? manyServicesBootstrap({ ...hopPorts, services: MANY_SERVICES }) : tcp ? tcpHopBootstrap(hopPorts) : httpHopBootstrap(hopPorts));
      const profDir = path.join(workDir, `ferry-${hop}`);
      const flags = o.plain ? [] : o.heap ? ['--heap-prof', `--heap-prof-dir=${profDir}`] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
      const p = startProcess({
        name: `ferry (${hop})`, command: process.execPath,
        args: [...flags, path.join(o.ferryRoot ?? repoRoot, 'bin', 'ferry'), 'proxy', '--config', configPath, '--concurrency', '1', '--drain-time-s', '0'],
        cpu: pinned ? 1 : null, tasksetPath: tools.taskset, logPath: path.join(workDir, `ferry-${hop}.log`),
      });
      procs.push(p);
      await waitForPort(listenPort, 20_000, [p]);
      next = listenPort;
    }
    const host = many ? serviceHost(0) : undefined;
    if (tcp) await waitForEcho(next, 15_000, procs);
    else await waitForHttp200(next, 15_000, procs, host);
    if (many) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      for (let i = 0; i < MANY_SERVICES; i++) await httpGet(next, '/echo', serviceHost(i), agent);
      agent.destroy();
    }
    const jsonPath = path.join(workDir, 'fortio.json');
    const args = fortioLoadArgs({
      url: tcp ? `tcp://127.0.0.1:${next}` : `http://127.0.0.1:${next}/echo`, qps: o.scenario === 'max-rps' || tcp ? 0 : 1000,
      connections: 16, durationS: o.seconds, payloadBytes: tcp ? 16384 : 1024, jsonPath, ...(host ? { hostHeader: host } : {}),
    });
    const ticks = 100;
    const cpu0 = procs.reduce((s, p) => s + parseCpuTicks(readFileSync(`/proc/${p.pid}/stat`, 'utf8')), 0);
    const r = await runToCompletion({
      name: 'fortio load', command: tools.fortio, args, cpu: pinned ? 0 : null, tasksetPath: tools.taskset,
      logPath: path.join(workDir, 'fortio.log'), timeoutMs: (o.seconds + 30) * 1000,
    });
    if (r.code !== 0) throw new FerryError('FERRY_ERR_BENCH_LOAD', r.output);
    const cpu = (procs.reduce((s, p) => s + parseCpuTicks(readFileSync(`/proc/${p.pid}/stat`, 'utf8')), 0) - cpu0) / ticks;
    const rss = procs.map((p) => parseRssMb(readFileSync(`/proc/${p.pid}/status`, 'utf8')).toFixed(1));
    const s = parseFortioResult(JSON.parse(readFileSync(jsonPath, 'utf8')));
    process.stdout.write(
      `${o.ferryRoot ? `${o.ferryRoot}: ` : ''}${o.scenario} ${o.topology}: ${s.qpsActual.toFixed(0)} req/s,${tcp ? ` ${(s.bytesReceivedPerS / 1e6).toFixed(1)} MB/s,` : ''} p50 ${s.p50Ms.toFixed(3)} ms, p99 ${s.p99Ms.toFixed(3)} ms, ` +
        `errors ${s.errors}, CPU ${((cpu * 1000) / Math.max(1, s.requests)).toFixed(4)} s / 1k req, RSS ${rss.join(' + ')} MB, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop(10_000)));
    await upstream.stop();
  }
  for (const p of procs) {
    const hop = p.name.slice(7, 8);
    const dir = path.join(workDir, `ferry-${hop}`);
    for (const f of o.plain ? [] : readdirSync(dir)) {
      const file = path.join(dir, f);
      if (f.endsWith('.cpuprofile')) {
        process.stdout.write(`\n── ${p.name}: ${path.relative(repoRoot, file)}\n`);
        process.stdout.write(renderSummary(summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, o.top)));
      } else {
        process.stdout.write(`\n── ${p.name}: ${path.relative(repoRoot, file)} (open in Chrome DevTools → Memory)\n`);
      }
    }
  }
  return 0;
}

if (require.main === module) {
  process.on('exit', killAllNow);
  process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exitCode = 2;
    },
  );
}
