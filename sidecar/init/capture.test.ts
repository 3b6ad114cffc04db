// What the installed rules do to real connections: two namespaces joined by veth, stand-in proxy listeners.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { addonPath } from '../native/original-dst';
import { createNetns, inNetns, netnsSkipReason } from './netns.fixture';

const POD_IP = '10.77.0.2';
const PEER_IP = '10.77.0.3';
const VIP = '10.77.0.99'; // a Service address: not local, routed out of the pod

// In the pod namespace: stand-ins for the proxy's listeners (they answer with the original
// destination) and the app's ports. Prints "ready" once everything listens.
const SERVERS = `
const net = require('node:net');
const { getOriginalDst } = require(${JSON.stringify(path.resolve(__dirname, '..', 'native', 'original-dst.js'))});
const listen = (port, answer) => new Promise((r) => net.createServer((s) => s.end(answer(s))).listen(port, '0.0.0.0', r));
Promise.all([
  listen(15001, (s) => { const d = getOriginalDst(s); return 'outbound ' + d.address + ':' + d.port; }),
  listen(15006, (s) => { const d = getOriginalDst(s); return 'inbound ' + d.address + ':' + d.port; }),
  listen(15020, () => 'health'),
  listen(8080, () => 'app'),
  listen(8081, () => 'app-excluded'),
]).then(() => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

// A client: connects, prints what it was told (or the error code).
const CLIENT = `
const net = require('node:net');
const [host, port, localAddress] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), localAddress: localAddress || undefined });
let got = '';
s.setTimeout(3000, () => { process.stdout.write('timeout'); process.exit(0); });
s.on('data', (d) => (got += d)).on('end', () => process.stdout.write(got)).on('error', (e) => process.stdout.write(e.code));
`;

function client(ns: string, uid: number, host: string, port: number, localAddress = ''): string {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', CLIENT, host, String(port), localAddress],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
  return r.stdout;
}

test('capture rules in action: outbound, hairpin, passthrough source, inbound, exclusions', async (t) => {
  const skip = netnsSkipReason(['iptables', 'setpriv']);
  if (skip) return t.skip(skip);
  if (!existsSync(addonPath())) {
    if (process.env.CI) assert.fail(`addon not built at ${addonPath()}; run sidecar/native/build.sh`);
    return t.skip('SO_ORIGINAL_DST addon not built; run sidecar/native/build.sh');
  }
  const pod = createNetns(t);
  const peer = createNetns(t);
  const veth = `fv${process.pid % 100000}`;
  spawnSync('ip', ['link', 'add', veth, 'netns', pod, 'type', 'veth', 'peer', 'name', `${veth}p`, 'netns', peer], { stdio: 'pipe' });
  inNetns(pod, 'ip', ['addr', 'add', `${POD_IP}/24`, 'dev', veth]);
  inNetns(pod, 'ip', ['link', 'set', veth, 'up']);
  inNetns(peer, 'ip', ['addr', 'add', `${PEER_IP}/24`, 'dev', `${veth}p`]);
  inNetns(peer, 'ip', ['link', 'set', `${veth}p`, 'up']);

  const command = path.resolve(__dirname, 'command.js');
  const run = `require(${JSON.stringify(command)}).initCommand(process.argv.slice(1)).then((c) => process.exit(c))`;
  inNetns(pod, process.execPath, ['-e', run, '--', '--exclude-inbound-ports', '8081', '--ipv6', 'off']);

  const servers: ChildProcess = spawn('ip', ['netns', 'exec', pod, process.execPath, '-e', SERVERS], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    servers.stdin?.end();
    servers.kill();
  });
  await new Promise<void>((resolve, reject) => {
    servers.stdout!.once('data', () => resolve());
    servers.once('exit', (code) => reject(new Error(`servers exited early (${code})`)));
  });

  const CASES: [string, string, number, string, number, string, string][] = [
    // [what, namespace, uid, host, port, local address, expected answer]
    ['app → Service address is captured outbound', pod, 1000, VIP, 80, '', `outbound ${VIP}:80`],
    ['proxy → own pod IP hairpins through inbound', pod, 1337, POD_IP, 8080, '', `inbound ${POD_IP}:8080`],
    ['hairpin honours inbound exclusions', pod, 1337, POD_IP, 8081, '', 'app-excluded'],
    ['proxy from 127.0.0.6 → app is not captured again', pod, 1337, POD_IP, 8080, '127.0.0.6', 'app'],
    ['app → itself is not captured', pod, 1000, POD_IP, 8080, '', 'app'],
    ['app → 127.0.0.1 is not captured', pod, 1000, '127.0.0.1', 8080, '', 'app'],
    ['peer → pod is captured inbound', peer, 0, POD_IP, 8080, '', `inbound ${POD_IP}:8080`],
    ['peer → excluded inbound port reaches the app', peer, 0, POD_IP, 8081, '', 'app-excluded'],
    ['peer → health port reaches the proxy directly', peer, 0, POD_IP, 15020, '', 'health'],
  ];
  for (const [what, ns, uid, host, port, local, want] of CASES) {
    assert.equal(client(ns, uid, host, port, local), want, what);
  }
});
