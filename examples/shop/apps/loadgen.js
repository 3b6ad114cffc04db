// The load generator: calls the frontend every INTERVAL_MS and prints a summary every 5 s.
const http = require('node:http');

const target = { host: process.env.FRONTEND_SERVICE_HOST, port: Number(process.env.FRONTEND_SERVICE_PORT) };
const intervalMs = Number(process.env.INTERVAL_MS || 200);
const counts = {};
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

setInterval(() => {
  const req = http.get({ ...target, path: '/', agent, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => (counts[res.statusCode] = (counts[res.statusCode] || 0) + 1));
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', (err) => (counts[err.code || 'error'] = (counts[err.code || 'error'] || 0) + 1));
}, intervalMs);
setInterval(() => console.log(`frontend answers so far: ${JSON.stringify(counts)}`), 5000);
console.log(`loadgen → frontend ${target.host}:${target.port} every ${intervalMs} ms`);
