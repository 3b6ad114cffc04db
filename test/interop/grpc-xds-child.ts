// A proxyless gRPC client in its own process (the xds resolver keeps global state): reads
// `{"n": N}` lines on stdin, makes N unary calls to argv[2] (an xds:/// target), and answers one
// JSON line per batch: which server answered how often, and the errors.

import * as grpc from '@grpc/grpc-js';
import { createInterface } from 'node:readline';

const identity = (b: Buffer): Buffer => b;
/** A generic unary method (no .proto): the server answers its own name. */
export const ECHO: grpc.ServiceDefinition = {
  Who: {
    path: '/ferry.test.Echo/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

function main(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('@grpc/grpc-js-xds') as { register(): void }).register();
  const target = process.argv[2];
  const Client = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as {
    Who(req: Buffer, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  };
  const call = (): Promise<string> =>
    new Promise((resolve, reject) => client.Who(Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!.toString()))));

  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const { n } = JSON.parse(line) as { n: number };
    queue = queue.then(async () => {
      const counts: Record<string, number> = {};
      const errors: string[] = [];
      // Ten at a time: enough to spread over endpoints, few enough to stay gentle on two cores.
      for (let i = 0; i < n; i += 10) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(10, n - i) }, call));
        for (const r of batch) {
          if (r.status === 'fulfilled') counts[r.value] = (counts[r.value] ?? 0) + 1;
          else errors.push(String((r.reason as Error).message));
        }
      }
      process.stdout.write(`${JSON.stringify({ counts, errors })}\n`);
    });
  });
  process.stdin.on('end', () => void queue.then(() => process.exit(0)));
}

// Only with a target: `node --test dist/` loads every file under test/ and must find nothing to run here.
if (require.main === module && process.argv[2]?.startsWith('xds:')) main();
