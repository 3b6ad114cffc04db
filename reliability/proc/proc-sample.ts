// Resident memory and open descriptors of a process, from /proc by pid.

import { readdirSync, readFileSync } from 'node:fs';
import { parseRssMb } from '../../bench/proc-stats';

export interface ProcSample {
  readonly name: string;
  readonly pid: number;
  /** VmRSS in MiB, or null when the process is gone. */
  readonly rssMb: number | null;
  /** Entries of /proc/<pid>/fd, or null when the process is gone. */
  readonly fds: number | null;
}

/** A sample of `pid` now; a process that is gone gives nulls rather than an error. */
export function sampleProcess(name: string, pid: number, proc = '/proc'): ProcSample {
  let rssMb: number | null = null;
  let fds: number | null = null;
  try {
    rssMb = Math.round(parseRssMb(readFileSync(`${proc}/${pid}/status`, 'utf8')) * 10) / 10;
    fds = readdirSync(`${proc}/${pid}/fd`).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  return { name, pid, rssMb, fds };
}
