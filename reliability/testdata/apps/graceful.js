// The shop's catalog (examples/shop/apps/catalog.js) with a graceful shutdown, as a well-behaved Deployment has:
// on SIGTERM it keeps serving for DRAIN_MS (the time the endpoint update needs to reach every caller, what a
// preStop sleep buys in Kubernetes), then closes its listener, lets in-flight requests finish and exits 0.
const http = require('node:http');
const path = require('node:path');

const drainMs = Number(process.env.DRAIN_MS || 3000);
const servers = [];
const createServer = http.createServer;
http.createServer = (...args) => {
  const s = createServer(...args);
  servers.push(s);
  return s;
};
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
