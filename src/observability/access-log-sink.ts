// Where access-log lines go: a file (opened for append, shared by every logger naming the same path),
// stdout or stderr. Writes never block the data path: past a bounded backlog a line is dropped and
// counted, never queued without limit.

import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { ConfigError } from '../errors';

export interface AccessLogSink {
  /** Queues one line; false when it was dropped because the backlog is full. */
  write(line: string): boolean;
  /** Lines dropped so far (backlog full or the file failed). */
  readonly dropped: number;
}

/** Bytes a sink may hold unwritten before it drops lines. */
export const ACCESS_LOG_BACKLOG_BYTES = 4 * 1024 * 1024;

class StreamSink implements AccessLogSink {
  #dropped = 0;
  #failed = false;
  constructor(private readonly stream: Writable, private readonly backlogBytes: number) {
    stream.on('error', () => {
      this.#failed = true;
    });
  }
  get dropped(): number {
    return this.#dropped;
  }
  write(line: string): boolean {
    if (this.#failed || this.stream.writableLength > this.backlogBytes) {
      this.#dropped++;
      return false;
    }
    this.stream.write(line);
    return true;
  }
}

const files = new Map<string, StreamSink>();
let stdoutSink: StreamSink | null = null;
let stderrSink: StreamSink | null = null;

/**
 * The sink for `path` (`/dev/stdout` and `/dev/stderr` are the process's streams, as in Envoy). A file
 * is opened once, here, so a path that cannot be opened is a config error naming the field.
 */
export function accessLogSink(target: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' | 'stderr' }, field: string, backlogBytes = ACCESS_LOG_BACKLOG_BYTES): AccessLogSink {
  const kind = target.kind === 'file' && target.path === '/dev/stdout' ? 'stdout' : target.kind === 'file' && target.path === '/dev/stderr' ? 'stderr' : target.kind;
  if (kind === 'stdout') return (stdoutSink ??= new StreamSink(process.stdout, backlogBytes));
  if (kind === 'stderr') return (stderrSink ??= new StreamSink(process.stderr, backlogBytes));
  const path = (target as { path: string }).path;
  const open = files.get(path);
  if (open !== undefined) return open;
  let fd: number;
  try {
    fd = fs.openSync(path, 'a');
  } catch (err) {
    throw new ConfigError(field, `cannot open access log ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const sink = new StreamSink(fs.createWriteStream(path, { fd, flags: 'a' }), backlogBytes);
  files.set(path, sink);
  return sink;
}
