// The shop's catalog (examples/shop/apps/catalog.js) with a graceful shutdown, as a well-behaved Deployment has:
// on SIGTERM it keeps serving for DRAIN_MS (the time the endpoint update needs to reach every caller, what a
// preStop sleep buys in Kubernetes), then closes its listener, lets in-flight requests finish and exits 0.
//
// With CONTROL_PORT set, a fault control listens on 127.0.0.1 (so only the pod's own network namespace
// reaches it) for the chaos suite: `GET /fault?status=503&for_ms=N` answers every request but /healthz
// with that status for N ms, `GET /fault?delay_ms=D&for_ms=N` delays each answer by D ms for N ms,
// `GET /fault` clears it; each answers the fault now in force as JSON. Without CONTROL_PORT the app is
// the catalog as it is.
const http = require('node:http');
const path = require('node:path');

const drainMs = Number(process.env.DRAIN_MS || 3000);
const controlPort = process.env.CONTROL_PORT ? Number(process.env.CONTROL_PORT) : null;
const servers = [];
const createServer = http.createServer;

// The fault in force: { status, delayMs, until } (epoch ms), or null.
let fault = null;
const activeFault = () => (fault !== null && Date.now() < fault.until ? fault : null);

function withFaults(handler) {
  return (req, res) => {
    const f = activeFault();
    if (f === null || req.url === '/healthz') return handler(req, res);
    if (f.status) {
      res.writeHead(f.status, { 'content-type': 'text/plain', 'x-catalog-fault': 'status' });
      return res.end(`${process.env.POD_NAME || 'catalog'}: fault ${f.status}\n`);
    }
    setTimeout(() => handler(req, res), f.delayMs);
  };
}

http.createServer = (...args) => {
  if (controlPort !== null && typeof args[args.length - 1] === 'function') args[args.length - 1] = withFaults(args[args.length - 1]);
  const s = createServer(...args);
  servers.push(s);
  return s;
};

if (controlPort !== null) {
  createServer((req, res) => {
    const u = new URL(req.url, 'http://control');
    if (u.pathname !== '/fault') {
      res.writeHead(404);
      return res.end();
    }
    const forMs = Number(u.searchParams.get('for_ms') || 0);
    const status = Number(u.searchParams.get('status') || 0);
    const delayMs = Number(u.searchParams.get('delay_ms') || 0);
    const valid = Number.isFinite(forMs) && forMs >= 0 && (status === 0 || (status >= 100 && status <= 599)) && Number.isFinite(delayMs) && delayMs >= 0;
    if (!valid || (status && delayMs)) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('want status=100-599 or delay_ms>=0 (not both), for_ms>=0\n');
    }
    fault = forMs > 0 && (status || delayMs) ? { status, delayMs, until: Date.now() + forMs } : null;
    console.log(`fault control: ${fault === null ? 'cleared' : JSON.stringify(fault)}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fault));
  }).listen(controlPort, '127.0.0.1', () => console.log(`fault control on 127.0.0.1:${controlPort}`));
}
require(path.join(__dirname, '..', '..', '..', 'examples', 'shop', 'apps', 'catalog.js'));

process.once('SIGTERM', () => {
  console.log(`SIGTERM: serving ${drainMs} ms more, then closing`);
  setTimeout(() => {
    let open = servers.length;
    for (const s of servers) {
      s.close(() => {
        if (--open === 0) process.exit(0);
      });
      s.closeIdleConnections();
    }
    // Keep-alive connections that stay busy get at most 5 s more.
    setTimeout(() => process.exit(0), 5000).unref();
  }, drainMs);
});
