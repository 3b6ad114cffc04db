// The frontend: asks the catalog and the cart (found through Kubernetes' service env) and answers with both.
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
const catalog = { host: process.env.CATALOG_SERVICE_HOST, port: Number(process.env.CATALOG_SERVICE_PORT) };
const cart = { host: process.env.CART_SERVICE_HOST, port: Number(process.env.CART_SERVICE_PORT) };

function get(target, path) {
  return new Promise((resolve) => {
    const req = http.get({ ...target, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ status: 0, body: String(err.message) }));
  });
}

http
  .createServer(async (req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    const [c, k] = await Promise.all([get(catalog, '/items'), get(cart, '/cart')]);
    const ok = c.status === 200 && k.status === 200;
    res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ catalog: c, cart: k }));
  })
  .listen(port, '0.0.0.0', () => console.log(`frontend on :${port}, catalog ${catalog.host}:${catalog.port}, cart ${cart.host}:${cart.port}`));
