// The catalog: an HTTP service whose replicas can be made flaky (FAIL_RATE of answers are 503) or slow (DELAY_MS).
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
const failRate = Number(process.env.FAIL_RATE || 0);
const delayMs = Number(process.env.DELAY_MS || 0);
const version = process.env.VERSION || 'v1';
const pod = process.env.POD_NAME || 'catalog';
const items = [{ sku: 'mug', price: 9 }, { sku: 'tee', price: 19 }, { sku: 'cap', price: 15 }];

http
  .createServer((req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    const answer = () => {
      if (Math.random() < failRate) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end(`${pod} is having a bad moment\n`);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'catalog', version, pod, items }));
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  })
  .listen(port, '0.0.0.0', () => console.log(`catalog ${version} (${pod}) on :${port}, fail rate ${failRate}, delay ${delayMs} ms`));
