import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../clock/clock';
import { ProbeLoop } from './probes';

test('ProbeLoop.restart: a restarted container reports ready again once its probe passes, though the probe never saw the old one fail', async (t) => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const changes: boolean[] = [];
  let heard: () => void = () => undefined;
  const loop = new ProbeLoop({ tcpSocket: { port }, periodSeconds: 1 }, '127.0.0.1', (p) => (typeof p === 'number' ? p : null), systemClock, false, (ok) => {
    changes.push(ok);
    heard();
  });
  t.after(() => {
    loop.stop();
    server.close();
  });
  // The next change, or a failure after 3 s (the probe runs every second).
  const change = (): Promise<void> =>
    new Promise((r, j) => {
      const timer = setTimeout(() => j(new Error(`no readiness change heard (changes so far: ${changes.join(', ')})`)), 3000);
      heard = () => {
        clearTimeout(timer);
        r();
      };
    });
  await change();
  assert.deepEqual(changes, [true]);
  // The container restarted (quicker than failureThreshold periods): unready silently, then ready again on the next pass.
  loop.restart();
  assert.equal(loop.state.passing, false);
  await change();
  assert.deepEqual(changes, [true, true]);
});
