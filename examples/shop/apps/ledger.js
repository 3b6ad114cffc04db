// The ledger: a plain HTTP app in a namespace without injection (it runs without a sidecar).
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
http
  .createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : JSON.stringify({ service: 'ledger', meshed: false })))
  .listen(port, '0.0.0.0', () => console.log(`ledger on :${port}`));
