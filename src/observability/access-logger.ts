// The access loggers of one HCM or tcp_proxy: each configured format bound to its sink. Built when the
// listener is built (a file that cannot be opened fails that config, naming the field), applied once per
// finished request or connection.

import type { AccessLogConfig } from '../config/types';
import { compileJsonFormat, compileTextFormat, type AccessLogFormatter, type AccessLogRecord } from './access-log-format';
import { accessLogSink, type AccessLogSink } from './access-log-sink';

export class AccessLoggers {
  private constructor(private readonly loggers: readonly { readonly format: AccessLogFormatter; readonly sink: AccessLogSink }[]) {}

  /** The loggers of `configs`, or null when there are none (nothing to do per request). */
  static open(configs: readonly AccessLogConfig[]): AccessLoggers | null {
    if (configs.length === 0) return null;
    return new AccessLoggers(configs.map((c) => ({
      format: c.format.kind === 'text' ? compileTextFormat(c.format.text, c.field) : compileJsonFormat({ ...c.format.fields }, c.field, c.format.omitEmptyValues),
      sink: accessLogSink(c.target, c.field),
    })));
  }

  /** Writes one line per logger; returns how many were dropped (backlog full). */
  log(record: AccessLogRecord): number {
    let dropped = 0;
    for (const l of this.loggers) if (!l.sink.write(l.format.format(record))) dropped++;
    return dropped;
  }
}
