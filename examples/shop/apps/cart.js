// The cart: counts visits in the store, a Redis-speaking TCP service (INCR over RESP).
const http = require('node:http');
const net = require('node:net');

const port = Number(process.env.PORT || 8080);
const store = { host: process.env.STORE_SERVICE_HOST, port: Number(process.env.STORE_SERVICE_PORT) };

/** One RESP command on a fresh connection; resolves with the first reply line. */
function redis(...args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(store);
    let got = '';
    s.setTimeout(3000, () => s.destroy(new Error('store timed out')));
    s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (c) => {
      got += c;
      if (got.includes('\r\n')) {
        s.end();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    s.on('error', reject);
  });
}

http
  .createServer(async (req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    try {
      const reply = await redis('INCR', 'cart:visits');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'cart', visits: Number(reply.slice(1)) }));
    } catch (err) {
      res.writeHead(503);
      res.end(`store: ${err.message}\n`);
    }
  })
  .listen(port, '0.0.0.0', () => console.log(`cart on :${port}, store ${store.host}:${store.port}`));
