// What the load client's scheduler asks of a protocol: start one request, tell its outcome once, stop it at its deadline.

import type { RequestRecord } from './outcomes';

/** The protocols the load client speaks. */
export type LoadProtocol = 'http1' | 'h2c' | 'grpc' | 'tcp';

export const LOAD_PROTOCOLS: readonly LoadProtocol[] = ['http1', 'h2c', 'grpc', 'tcp'];

/** How one request ended, as its record keeps it. */
export type Outcome = Pick<RequestRecord, 'status' | 'flag' | 'error' | 'grpcStatus' | 'echoed' | 'reused'>;

/** One request as the scheduler hands it to a protocol. */
export interface Exchange {
  /** Its number in the run (0 first): payloads are made from it, so one request's bytes never pass for another's. */
  readonly index: number;
  /** The clock's `now()` when it was due, and past which it counts as ETIMEDOUT. */
  readonly due: number;
  readonly deadline: number;
  /** Tells the outcome; only the first call counts. */
  settle(o: Outcome): void;
  /** Whether it has an outcome already (its deadline passed, or it was settled). */
  settled(): boolean;
  /** Why each earlier attempt was repeated, when the protocol retries (http1 on a fresh connection). */
  readonly retries: string[];
}

/** A protocol's client for one run: `send` starts a request and returns how to abandon it at its deadline. */
export interface Exchanger {
  send(x: Exchange): () => void;
  /** Closes its connections once every request has ended. */
  close(): void;
}

/** An outcome with no answer: the error code alone. */
export function failed(error: string, flag = ''): Outcome {
  return { status: 0, flag, error };
}

/** The `x-ferry-response-flags` header's value, '' when absent. */
export function flagOf(headers: Readonly<Record<string, string | string[] | number | undefined>>): string {
  const v = headers['x-ferry-response-flags'];
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(',') : String(v);
}
