// The plain, mesh-unaware programs the namespace tests run inside pods: a server app and a client (node -e scripts).

/**
 * The server pod's app, listening on every address (the sidecar reaches it on 127.0.0.1). Ports come
 * as argv: `http=8080 echo=9000 greet=3306 direct=7070 [extra=6060]`.
 * - http / direct / extra: HTTP, answers 200 with JSON {app, port, remote} (the peer address the app saw);
 * - echo: opaque TCP, echoes every byte;
 * - greet: server-first, writes `HELLO <peer address>\n` as soon as a connection arrives, then echoes.
 * Each accepted connection is logged as `accept <port> <peer>`; prints `ready` when all listen.
 */
export const SERVER_APP = `
const net = require('node:net');
const http = require('node:http');
const ports = Object.fromEntries(process.argv.slice(1).map((a) => a.split('=')).map(([k, v]) => [k, Number(v)]));
const log = (port) => (s) => process.stdout.write('accept ' + port + ' ' + s.remoteAddress + '\\n');
const listen = (server, port) => new Promise((r, j) => { server.once('error', j); server.listen(port, '0.0.0.0', r); });
const web = (port) => {
  const s = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: 'web', port, path: req.url, remote: req.socket.remoteAddress }));
  });
  s.on('connection', log(port));
  return listen(s, port);
};
const tcp = (port, greet) => listen(net.createServer((s) => {
  log(port)(s);
  s.on('error', () => {});
  if (greet) s.write('HELLO ' + s.remoteAddress + '\\n');
  s.pipe(s);
}), port);
Promise.all([web(ports.http), web(ports.direct), tcp(ports.echo, false), tcp(ports.greet, true), ports.extra ? web(ports.extra) : null])
  .then(() => process.stdout.write('ready\\n'), (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
`;

/**
 * The client app: one call, its outcome as one JSON line on stdout (never a non-zero exit for a
 * network failure, so the test can show what happened).
 * - `http HOST PORT PATH` → {status, body} with a plain node:http GET (no agent, no proxy settings);
 * - `echo HOST PORT PAYLOAD` → {got}: writes PAYLOAD, reads until as many bytes came back;
 * - `greet HOST PORT WAIT_MS` → {got}: writes nothing, reads the server's first line.
 * Errors: {error: code}; no answer in time: {error: 'timeout', got}. Every answer carries `ms` since start.
 */
export const CLIENT_APP = `
const net = require('node:net');
const http = require('node:http');
const [mode, host, portText, arg] = process.argv.slice(1);
const port = Number(portText);
const started = Date.now();
const done = (o) => { process.stdout.write(JSON.stringify({ ...o, ms: Date.now() - started }) + '\\n'); process.exit(0); };
if (mode === 'http') {
  const req = http.get({ host, port, path: arg, agent: false, timeout: 5000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => done({ status: res.statusCode, body }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
  req.on('error', (e) => done({ error: e.code || String(e) }));
} else {
  const wait = mode === 'greet' ? Number(arg) : 5000;
  let got = '';
  const s = net.connect({ host, port });
  s.setEncoding('utf8');
  s.on('connect', () => { if (mode === 'echo') s.write(arg); });
  s.on('data', (c) => {
    got += c;
    if (mode === 'echo' && got.length >= arg.length) { s.destroy(); done({ got }); }
    if (mode === 'greet' && got.includes('\\n')) { s.destroy(); done({ got }); }
  });
  s.on('error', (e) => done({ error: e.code || String(e), got }));
  s.on('close', () => done({ error: 'closed', got }));
  setTimeout(() => done({ error: 'timeout', got }), wait);
}
`;

/** Prints the body of GET http://HOST:PORT/PATH (status first), for metrics and health checks. */
export const FETCH = `
const http = require('node:http');
const [host, port, path] = process.argv.slice(1);
const req = http.get({ host, port: Number(port), path, agent: false, timeout: 3000 }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c) => (body += c));
  res.on('end', () => { process.stdout.write(res.statusCode + '\\n' + body); });
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });
`;
