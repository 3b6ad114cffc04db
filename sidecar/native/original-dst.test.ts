// Tests the SO_ORIGINAL_DST addon against real iptables REDIRECT rules in a network namespace.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createNetns, inNetns, netnsSkipReason } from '../init/netns.fixture';
import { addonPath, getOriginalDst } from './original-dst';

// Runs inside the namespace: servers on 15101 (dual stack) and 15102 (IPv4 only), clients to the
// redirected addresses; prints what each server learned.
const CHILD = `
const net = require('node:net');
const { getOriginalDst } = require(${JSON.stringify(path.resolve(__dirname, 'original-dst.js'))});
const seen = [];
function serve(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer((sock) => { seen.push({ server: port, dst: getOriginalDst(sock) }); sock.end('ok'); });
    s.listen(port, host, () => resolve(s));
  });
}
function call(host, port) {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port }, () => {});
    c.on('data', () => {}); c.on('end', resolve); c.on('error', reject);
  });
}
(async () => {
  const servers = [await serve('::', 15101), await serve('127.0.0.1', 15102)];
  const targets = JSON.parse(process.argv[1]);
  for (const [host, port] of targets) await call(host, port);
  for (const s of servers) s.close();
  process.stdout.write(JSON.stringify(seen));
})().catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });
`;

test('getOriginalDst: a clear error when the socket has no fd', () => {
  const net = require('node:net') as typeof import('node:net');
  const sock = new net.Socket();
  assert.throws(() => getOriginalDst(sock), /no file descriptor/);
});

test('getOriginalDst reads the pre-REDIRECT destination (IPv4, IPv4 on dual stack, IPv6)', (t) => {
  const skip = netnsSkipReason(['iptables', 'ip6tables']);
  if (skip) return t.skip(skip);
  if (!existsSync(addonPath())) {
    if (process.env.CI) assert.fail(`addon not built at ${addonPath()}; run sidecar/native/build.sh`);
    return t.skip(`addon not built (${addonPath()}); run sidecar/native/build.sh`);
  }
  const ns = createNetns(t);
  // A veth pair with both ends here gives the test addresses a route (no dummy module needed).
  inNetns(ns, 'ip', ['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
  inNetns(ns, 'ip', ['link', 'set', 'd1', 'up']);
  inNetns(ns, 'ip', ['addr', 'add', '198.51.100.1/24', 'dev', 'd0']);
  inNetns(ns, 'ip', ['link', 'set', 'd0', 'up']);
  inNetns(ns, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '198.51.100.7', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '15101']);
  inNetns(ns, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '198.51.100.8', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15102']);
  const targets: [string, number][] = [['198.51.100.7', 80], ['198.51.100.8', 8080], ['127.0.0.1', 15102]];
  const want: unknown[] = [
    { server: 15101, dst: { address: '198.51.100.7', port: 80, family: 'IPv4' } },
    { server: 15102, dst: { address: '198.51.100.8', port: 8080, family: 'IPv4' } },
    { server: 15102, dst: { address: '127.0.0.1', port: 15102, family: 'IPv4' } }, // not NATed: its own address
  ];
  const v6 = spawnSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'd0', 'nodad']).status === 0;
  if (v6) {
    inNetns(ns, 'ip6tables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '2001:db8::7', '--dport', '443', '-j', 'REDIRECT', '--to-ports', '15101']);
    targets.push(['2001:db8::7', 443]);
    want.push({ server: 15101, dst: { address: '2001:db8::7', port: 443, family: 'IPv6' } });
  } else {
    t.diagnostic('IPv6 unavailable in the namespace; IPv6 case not run');
  }
  const out = inNetns(ns, process.execPath, ['-e', CHILD, JSON.stringify(targets)]);
  assert.deepEqual(JSON.parse(out), want);
});
