// A tiny Redis-speaking store (PING, GET, SET, INCR over RESP), for machines without redis-server.
const net = require('node:net');

const port = Number(process.env.PORT || 6379);
const data = new Map();

/** Parses complete RESP arrays from `buf`; returns [commands, rest]. */
function parse(buf) {
  const out = [];
  for (;;) {
    if (!buf.startsWith('*')) return [out, buf];
    const lines = buf.split('\r\n');
    const n = Number(lines[0].slice(1));
    if (lines.length < 1 + 2 * n + 1) return [out, buf];
    const args = [];
    for (let i = 0; i < n; i++) args.push(lines[2 + 2 * i]);
    out.push(args);
    buf = lines.slice(1 + 2 * n).join('\r\n');
  }
}

net
  .createServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', () => {});
    s.on('data', (c) => {
      const [cmds, rest] = parse(buf + c);
      buf = rest;
      for (const [cmd, key, value] of cmds) {
        const op = String(cmd).toUpperCase();
        if (op === 'PING') s.write('+PONG\r\n');
        else if (op === 'SET') (data.set(key, value), s.write('+OK\r\n'));
        else if (op === 'GET') s.write(data.has(key) ? `$${Buffer.byteLength(data.get(key))}\r\n${data.get(key)}\r\n` : '$-1\r\n');
        else if (op === 'INCR') {
          const v = Number(data.get(key) || 0) + 1;
          data.set(key, String(v));
          s.write(`:${v}\r\n`);
        } else s.write(`-ERR unknown command '${op}'\r\n`);
      }
    });
  })
  .listen(port, '0.0.0.0', () => console.log(`store (RESP) on :${port}`));
