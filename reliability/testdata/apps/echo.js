// The chaos suite's echo app: one process answering over HTTP/2 (h2c), gRPC and opaque TCP, with a graceful shutdown like graceful.js.
//
// PORT serves HTTP/1.1 /healthz for the readiness probe, opened once the other ports listen. H2_PORT serves h2c (HTTP/2 with prior
// knowledge): every request gets 200 and `<pod> <path>`, a POST its own body back. GRPC_PORT serves
// the unary method /ferry.chaos.Echo/Echo over @grpc/grpc-js, answering each message with its own
// bytes. TCP_PORT echoes every byte it reads on the same connection, and closes its side when the
// client closes its own.
//
// On SIGTERM it keeps serving for DRAIN_MS (the time the endpoint update needs to reach every
// caller), then stops accepting: HTTP/1.1 and h2c close their idle connections and send GOAWAY on the
// open sessions, gRPC shuts down after its calls, TCP closes its side of every connection after the
// bytes already echoed (a client's bytes still on their way get no echo); it exits once all are
// closed, or 5 s later at the latest.
const http = require('node:http');
const http2 = require('node:http2');
const net = require('node:net');
const grpc = require('@grpc/grpc-js');

const pod = process.env.POD_NAME || 'echo';
const drainMs = Number(process.env.DRAIN_MS || 3000);
const port = (name) => {
  const v = Number(process.env[name]);
  if (!Number.isInteger(v) || v <= 0 || v > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(process.env[name])}`);
  return v;
};

const health = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(`${pod}\n`);
});

const sessions = new Set();
const h2 = http2.createServer();
h2.on('session', (s) => {
  sessions.add(s);
  s.once('close', () => sessions.delete(s));
});
h2.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    if (stream.destroyed) return;
    const body = headers[':method'] === 'POST' ? Buffer.concat(chunks) : Buffer.from(`${pod} ${headers[':path']}\n`);
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    stream.end(body);
  });
  stream.on('error', () => undefined);
});
// The health port opens last, once every other port listens: ready means serving all of them.
let pending = 3;
const listening = (what) => {
  console.log(`${what} listening`);
  if (--pending === 0) health.listen(port('PORT'), () => console.log(`health on :${port('PORT')}`));
};
h2.listen(port('H2_PORT'), () => listening(`h2c on :${port('H2_PORT')}`));

const echoService = {
  Echo: {
    path: '/ferry.chaos.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};
const grpcServer = new grpc.Server();
grpcServer.addService(echoService, { Echo: (call, done) => done(null, call.request) });
grpcServer.bindAsync(`0.0.0.0:${port('GRPC_PORT')}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  listening(`grpc on :${port('GRPC_PORT')}`);
});

const conns = new Set();
const tcp = net.createServer((sock) => {
  conns.add(sock);
  sock.once('close', () => conns.delete(sock));
  sock.on('error', () => undefined);
  sock.pipe(sock);
});
tcp.listen(port('TCP_PORT'), () => listening(`tcp echo on :${port('TCP_PORT')}`));

process.once('SIGTERM', () => {
  console.log(`SIGTERM: serving ${drainMs} ms more, then closing`);
  setTimeout(() => {
    let open = 4;
    const closed = (what) => () => {
      console.log(`${what} closed`);
      if (--open === 0) process.exit(0);
    };
    health.close(closed('health'));
    health.closeIdleConnections();
    h2.close(closed('h2c'));
    for (const s of sessions) s.close();
    grpcServer.tryShutdown(closed('grpc'));
    tcp.close(closed('tcp'));
    // Opaque TCP has no message boundary to wait for: each connection gets a FIN after the bytes it was sent.
    for (const c of conns) c.end();
    console.log(`${conns.size} tcp connections open, ${sessions.size} h2c sessions`);
    setTimeout(() => process.exit(0), 5000).unref();
  }, drainMs);
});
