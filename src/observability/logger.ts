// A small leveled logger writing one JSON line per event to stderr; disabled levels cost a compare.

import { systemClock, type Clock } from '../clock/clock';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

export class Logger {
  private threshold: number;
  constructor(
    private readonly component: string,
    level: LogLevel = (process.env.FERRY_LOG_LEVEL as LogLevel) || 'info',
    private readonly sink: (line: string) => void = (line) => process.stderr.write(line),
    /** Stamps each line with its wall-clock time. */
    private readonly clock: Clock = systemClock,
  ) {
    this.threshold = ORDER[level] ?? ORDER.info;
  }

  setLevel(level: LogLevel): void {
    this.threshold = ORDER[level];
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= this.threshold;
  }

  child(component: string): Logger {
    const c = new Logger(`${this.component}.${component}`, 'info', this.sink, this.clock);
    c.threshold = this.threshold;
    return c;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (ORDER.debug >= this.threshold) this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (ORDER.info >= this.threshold) this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (ORDER.warn >= this.threshold) this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    if (ORDER.error >= this.threshold) this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    const entry: Record<string, unknown> = { time: new Date(this.clock.wallNow()).toISOString(), level, component: this.component, msg };
    if (fields) for (const k of Object.keys(fields)) entry[k] = fields[k] instanceof Error ? String(fields[k]) : fields[k];
    this.sink(JSON.stringify(entry) + '\n');
  }
}

export const rootLogger = new Logger('ferry');
