// Parses /proc/<pid>/stat (CPU ticks) and /proc/<pid>/status (resident memory) of a proxy process.

import { FerryError } from '../src/errors';

/** utime + stime of `/proc/<pid>/stat`, in clock ticks. */
export function parseCpuTicks(statText: string): number {
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new FerryError('FERRY_ERR_BENCH_PROCESS', '/proc/<pid>/stat: no ")" after the command name');
  const fields = statText.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new FerryError('FERRY_ERR_BENCH_PROCESS', '/proc/<pid>/stat: utime/stime (fields 14, 15) are not numbers');
  }
  return utime + stime;
}

/** VmRSS of `/proc/<pid>/status`, in MiB. */
export function parseRssMb(statusText: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  if (!match) throw new FerryError('FERRY_ERR_BENCH_PROCESS', '/proc/<pid>/status: no VmRSS line');
  return Number(match[1]) / 1024;
}
