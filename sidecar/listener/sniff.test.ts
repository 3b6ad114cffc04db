// Tests for protocol sniffing, including a real ClientHello captured from node:tls on loopback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { SNIFF_MAX_BYTES, sniff } from './sniff';

/** Starts a plain TCP server, connects a TLS client to it and returns the client's first flight. */
async function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  let socketRef: net.Socket | null = null;
  const server = net.createServer();
  try {
    const captured = new Promise<Buffer>((resolve, reject) => {
      server.on('connection', (socket) => {
        socketRef = socket;
        let buf = Buffer.alloc(0);
        socket.on('data', (chunk) => {
          buf = Buffer.concat([buf, chunk]);
          // One handshake record holds the whole ClientHello from node's TLS stack.
          if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
            resolve(buf);
            socket.destroy();
          }
        });
        socket.on('error', reject);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    client.on('error', () => {}); // the server hangs up mid-handshake on purpose
    try {
      return await captured;
    } finally {
      client.destroy();
    }
  } finally {
    (socketRef as net.Socket | null)?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('real ClientHello: SNI and ALPN; every truncation asks for more', async () => {
  const hello = await captureClientHello({ servername: 'api.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
  const r = sniff(hello);
  assert.equal(r.protocol, 'tls');
  assert.equal(r.serverName, 'api.example.com');
  assert.deepEqual(r.alpn, ['h2', 'http/1.1']);

  for (let n = 1; n < hello.length; n++) {
    assert.equal(sniff(hello.subarray(0, n)).protocol, 'need_more', `truncated to ${n} of ${hello.length}`);
  }

  // The same hello split into two TLS records is reassembled.
  const body = hello.subarray(5);
  const cut = 40;
  const rec = (frag: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, frag.length >> 8, frag.length & 0xff]), frag]);
  const split = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
  const s = sniff(split);
  assert.equal(s.protocol, 'tls');
  assert.equal(s.serverName, 'api.example.com');
  assert.equal(sniff(split.subarray(0, split.length - 1)).protocol, 'need_more');

  // Corrupt the extensions length: malformed → opaque.
  const bad = Buffer.from(hello);
  const sessionLen = bad[5 + 4 + 34];
  let p = 5 + 4 + 35 + sessionLen;
  p += 2 + bad.readUInt16BE(p);
  p += 1 + bad[p];
  bad.writeUInt16BE(0xffff, p);
  assert.equal(sniff(bad).protocol, 'opaque');
});

test('real ClientHello without SNI (IP address) and without ALPN', async () => {
  const hello = await captureClientHello({});
  const r = sniff(hello);
  assert.equal(r.protocol, 'tls');
  assert.equal(r.serverName, undefined);
  assert.equal(r.alpn, undefined);
});

test('plaintext protocols', () => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const cases: [string | Buffer, string, number?][] = [
    ['', 'need_more'],
    [preface, 'http2'],
    [preface + '\x00\x00\x12\x04', 'http2'],
    [preface.slice(0, 1), 'need_more'],
    [preface.slice(0, 10), 'need_more'],
    [preface.slice(0, 23), 'need_more'],
    ['PRI * HTTP/1.1\r\n', 'opaque'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'http1', 3],
    ['POST /x HTTP/1.0\r\n', 'http1', 4],
    ['OPTIONS * HTTP/1.1\r\n', 'http1', 7],
    ['PROPFIND /', 'http1', 8],
    ['M-SEARCH * HTTP/1.1', 'http1', 8],
    ['CONNECT a:443 HTTP/1.1', 'http1', 7],
    ['DELETE ', 'http1', 6],
    ['G', 'need_more'],
    ['GE', 'need_more'],
    ['GET', 'need_more'],
    ['PU', 'need_more'],
    ['PROPPATC', 'need_more'],
    ['GETX / HTTP/1.1', 'opaque'],
    ['get / HTTP/1.1', 'opaque'],
    ['SSH-2.0-OpenSSH_9.6\r\n', 'opaque'],
    ['*1\r\n$4\r\nPING\r\n', 'opaque'],
    [Buffer.from([0x00, 0x01, 0x02]), 'opaque'],
    [Buffer.from([0x16]), 'need_more'],
    [Buffer.from([0x16, 0x03]), 'need_more'],
    [Buffer.from([0x16, 0x03, 0x01, 0x00]), 'need_more'],
    [Buffer.from([0x16, 0x02, 0x01]), 'opaque'], // not TLS 1.x
    [Buffer.from([0x16, 0x03, 0x09]), 'opaque'],
    [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]), 'opaque'], // ServerHello, not ClientHello
    [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), 'opaque'], // empty record
  ];
  for (const [input, want, methodEnd] of cases) {
    const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
    const r = sniff(buf);
    assert.equal(r.protocol, want, JSON.stringify(buf.toString('latin1')));
    if (methodEnd !== undefined) assert.equal(r.httpMethodEnd, methodEnd);
  }
});

test('never waits for more than SNIFF_MAX_BYTES', () => {
  // A record header announcing a ClientHello bigger than the cap.
  const big = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc]);
  assert.equal(sniff(big).protocol, 'opaque');
  // A sequence of tiny handshake records that never completes the hello.
  const parts: Buffer[] = [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])];
  const tiny = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x00]);
  for (let i = 0; i < 100; i++) parts.push(tiny);
  assert.equal(sniff(Buffer.concat(parts)).protocol, 'need_more', 'incomplete, under the cap');
  while (Buffer.concat(parts).length < SNIFF_MAX_BYTES) parts.push(tiny);
  assert.equal(sniff(Buffer.concat(parts)).protocol, 'opaque', 'incomplete at the cap');
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x40, 0x00]); // 16 KiB body
  assert.equal(sniff(hello).protocol, 'opaque', 'announced body exceeds the cap');
});

test('the answer depends only on the first SNIFF_MAX_BYTES, not on how the bytes arrived', () => {
  // A ClientHello of 16,200 bytes of body, cut into 200-byte records: with 5-byte record headers
  // its last record ends past the cap, so it is opaque whether sniffed in one read or as it trickles in.
  const body = Buffer.alloc(16_200);
  body.writeUInt16BE(0x0303, 0);
  const handshake = Buffer.concat([Buffer.from([0x01, 0x00, body.length >> 8, body.length & 0xff]), body]);
  const records: Buffer[] = [];
  for (let at = 0; at < handshake.length; at += 200) {
    const frag = handshake.subarray(at, at + 200);
    records.push(Buffer.from([0x16, 0x03, 0x01, frag.length >> 8, frag.length & 0xff]), frag);
  }
  const all = Buffer.concat(records);
  assert.ok(all.length > SNIFF_MAX_BYTES);
  let firstAnswer: string | null = null;
  for (let n = 1_000; firstAnswer === null; n += 1_000) {
    const r = sniff(all.subarray(0, n)).protocol; // the last step takes everything
    if (r !== 'need_more' || n >= all.length) firstAnswer = r;
  }
  assert.equal(firstAnswer, 'opaque', 'as it trickles in');
  assert.equal(sniff(all.subarray(0, 16_400)).protocol, 'opaque', 'cut inside the record that crosses the cap');
  assert.equal(sniff(all).protocol, 'opaque', 'in one read');
});
