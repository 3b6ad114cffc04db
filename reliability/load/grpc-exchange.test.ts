import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '../../src/clock/clock';
import { startLoad } from './load-client';
import { failureReason, isOk } from './outcomes';

const raw = (b: Buffer): Buffer => b;
const ECHO = { Echo: { path: '/t.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } };

/** A gRPC server whose `i`-th call is answered by `answer`; shut down after the test. */
async function server(t: { after(fn: () => void): void }, answer: (req: Buffer, i: number, done: grpc.sendUnaryData<Buffer>, call: grpc.ServerUnaryCall<Buffer, Buffer>) => void): Promise<number> {
  let n = 0;
  const s = new grpc.Server();
  s.addService(ECHO, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => answer(call.request, n++, done, call) });
  const port = await new Promise<number>((r, j) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? j(err) : r(p))));
  t.after(() => s.forceShutdown());
  return port;
}

test('grpc: each call ok only with grpc-status 0 and its own bytes back; a status with its response flag and an altered reply are failures', async (t) => {
  // Call 0–1: echo, 2: UNAVAILABLE with a response flag in its trailers, 3: a reply one byte off, 4: RESOURCE_EXHAUSTED with one in its headers.
  const port = await server(t, (req, i, done, call) => {
    if (i < 2) return done(null, req);
    if (i === 2) {
      const md = new grpc.Metadata();
      md.set('x-ferry-response-flags', 'UF');
      return done({ code: grpc.status.UNAVAILABLE, details: 'upstream gone', metadata: md });
    }
    if (i === 3) {
      const bad = Buffer.from(req);
      bad[0] ^= 1;
      return done(null, bad);
    }
    // As a sidecar relays a trailers-only answer over HTTP/2: the flag in the response headers, the status in the trailers.
    const md = new grpc.Metadata();
    md.set('x-ferry-response-flags', 'UO');
    call.sendMetadata(md);
    done({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'busy' });
  });
  const records = await startLoad({ protocol: 'grpc', host: '127.0.0.1', port, path: '/t.Echo/Echo', method: 'POST', bodyBytes: 32, rps: 10, durationMs: 500, timeoutMs: 2000 }, systemClock).done;
  assert.deepEqual(records.map((r) => (isOk(r) ? 'ok' : failureReason(r))), ['ok', 'ok', 'grpc-status 14 UF', 'EMISMATCH', 'grpc-status 8 UO']);
  assert.equal(records[2].error, 'upstream gone');
});

test('grpc: a call with no answer times out; a path that is not /Service/Method is refused', async (t) => {
  const port = await server(t, () => undefined);
  const records = await startLoad({ protocol: 'grpc', host: '127.0.0.1', port, path: '/t.Echo/Echo', method: 'POST', bodyBytes: 8, rps: 10, durationMs: 100, timeoutMs: 300 }, systemClock).done;
  assert.deepEqual(records.map(failureReason), ['ETIMEDOUT']);
  assert.throws(() => startLoad({ protocol: 'grpc', host: '127.0.0.1', port, path: '/items', method: 'POST', rps: 10, durationMs: 100, timeoutMs: 300 }, systemClock), /grpc needs path \/package.Service\/Method, got "\/items"/);
});
