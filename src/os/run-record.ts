// The record of what a run made (namespaces, links, processes, folders), so that a later run can remove it after a crash.
//
// A run that creates machine state writes `record.json` in its own folder before each thing it makes
// exists, and removes the record when it has undone everything. A record whose owner is gone (killed
// with SIGKILL, say) is stale: `removeStaleRuns` undoes it. Processes are known by pid *and* start
// time (from /proc), so a pid the kernel has since given to another program is never signalled.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RecordedProcess {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot), or null where /proc is missing. */
  readonly startTime: number | null;
}

export interface RunRecordData {
  readonly owner: RecordedProcess;
  /** Network namespaces (`ip netns`), deleted with everything in them. */
  namespaces: string[];
  /** Links in the root namespace (a bridge, veth ends). */
  links: string[];
  processes: RecordedProcess[];
  /** Folders to remove recursively (secrets, per-namespace /etc/netns entries). */
  dirs: string[];
}

export const RECORD_FILE = 'record.json';

/** The start time of `pid` from /proc/<pid>/stat, or null (no such process, or no /proc). */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** Whether the process recorded is still the one running under its pid. */
export function isAlive(p: RecordedProcess): boolean {
  try {
    process.kill(p.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = processStartTime(p.pid);
  return p.startTime === null || now === null || now === p.startTime;
}

export function describeProcess(name: string, pid: number): RecordedProcess {
  return { name, pid, startTime: processStartTime(pid) };
}

/** A run's record, kept on disk after every change. */
export class RunRecord {
  readonly file: string;
  private readonly data: RunRecordData;

  constructor(readonly dir: string) {
    this.file = join(dir, RECORD_FILE);
    this.data = { owner: describeProcess('owner', process.pid), namespaces: [], links: [], processes: [], dirs: [] };
    this.save();
  }

  addNamespace(name: string): void {
    this.data.namespaces.push(name);
    this.save();
  }

  addLink(name: string): void {
    this.data.links.push(name);
    this.save();
  }

  addProcess(name: string, pid: number): void {
    this.data.processes.push(describeProcess(name, pid));
    this.save();
  }

  addDir(dir: string): void {
    this.data.dirs.push(dir);
    this.save();
  }

  get namespaces(): readonly string[] {
    return this.data.namespaces;
  }

  /** Undoes everything still recorded (synchronously: it also runs on the way out of a dying process), then drops the record. */
  removeAll(): void {
    removeRecorded(this.data);
    rmSync(this.file, { force: true });
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 1)}\n`);
    renameSync(tmp, this.file);
  }
}

/** SIGKILLs every recorded process still alive, deletes namespaces, links and folders. Safe to repeat. */
export function removeRecorded(data: RunRecordData): void {
  for (const p of data.processes) {
    if (!isAlive(p)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const ns of [...data.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  for (const link of [...data.links].reverse()) spawnSync('ip', ['link', 'del', link], { stdio: 'ignore' });
  for (const dir of data.dirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes what runs under `base` recorded whose owner is gone (each run in its own sub-folder);
 * returns a line per run cleaned. Records of runs still alive are left alone.
 */
export function removeStaleRuns(base: string): string[] {
  if (!existsSync(base)) return [];
  const cleaned: string[] = [];
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(base, entry.name, RECORD_FILE);
    let data: RunRecordData;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as RunRecordData;
    } catch {
      continue; // no record: nothing of that run is left on the machine
    }
    if (isAlive(data.owner)) continue;
    removeRecorded(data);
    rmSync(file, { force: true });
    cleaned.push(
      `${entry.name} (owner pid ${data.owner.pid}): ${data.processes.length} processes, ${data.namespaces.length} namespaces, ${data.links.length} links`,
    );
  }
  return cleaned;
}
