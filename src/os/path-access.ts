// Path access for another user: whether a uid can reach a file through every directory above it, naming the first that blocks.
//
// Used where a process runs under another uid than its parent (the proxy as UID 1337): a repository
// cloned into a private folder (a home directory, a `mktemp -d`) is unreachable for it, and Node then
// only says "Cannot find module". `permits` is the pure decision on one entry's mode bits, with the
// classic Unix rule: the owner's bits if the uid owns it, else the group's if the gid or a
// supplementary group matches, else the others'; root passes everything but executing a file that no
// one may execute. `findPathBlock` walks the path from `/` and follows symbolic links as the kernel
// does (each link's target is walked in turn).

import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

/** The identity a process runs with. */
export interface Accessor {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (none after `setpriv --clear-groups`). */
  readonly groups: readonly number[];
}

/** `search`: pass through a directory; `read`: open a file or list a directory; `execute`: run a file. */
export type Access = 'search' | 'read' | 'execute';

/** The parts of an entry's inode the decision reads. */
export interface EntryMode {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly isDirectory: boolean;
}

/** Why `path` cannot be reached: the entry that stops it, and what was needed there. */
export interface PathBlock {
  readonly path: string;
  readonly blockedAt: string;
  /** `missing`: the entry does not exist (or a link loops); otherwise the access the entry refuses. */
  readonly need: Access | 'missing';
  /** Mode bits, owner and group of `blockedAt` (0 when missing). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

const BIT: Readonly<Record<Access, number>> = { read: 4, search: 1, execute: 1 };

/** Whether `who` may `access` an entry with these bits. Pure. */
export function permits(entry: EntryMode, who: Accessor, access: Access): boolean {
  if (who.uid === 0) return access !== 'execute' || entry.isDirectory || (entry.mode & 0o111) !== 0;
  let bits: number;
  if (entry.uid === who.uid) bits = (entry.mode >> 6) & 7;
  else if (entry.gid === who.gid || who.groups.includes(entry.gid)) bits = (entry.mode >> 3) & 7;
  else bits = entry.mode & 7;
  return (bits & BIT[access]) !== 0;
}

/** A one-line explanation naming the blocking entry, e.g. for an error that tells the operator what to change. */
export function describePathBlock(b: PathBlock, who: Accessor): string {
  if (b.need === 'missing') return `${b.path}: ${b.blockedAt} does not exist`;
  const what = b.blockedAt === b.path ? b.path : `${b.blockedAt}, on the way to ${b.path}`;
  const mode = (b.mode & 0o7777).toString(8).padStart(4, '0');
  return `UID ${who.uid} cannot ${b.need} ${what} (mode ${mode}, owner ${b.uid}:${b.gid})`;
}

/**
 * The first entry on the way to `target` that stops `who` from the final `access` (every directory
 * needs `search`), or null when the path is reachable. Relative paths resolve against the cwd. With
 * `within`, only entries at or below that directory are judged (what a process sees when `within`
 * is bind-mounted somewhere reachable); a link that is absolute or leads out of it is judged all the
 * way from `/`.
 */
export function findPathBlock(target: string, who: Accessor, access: Access, opts: { within?: string } = {}): PathBlock | null {
  const within = opts.within === undefined ? null : resolve(opts.within);
  return walk(resolve(target), target, who, access, within, 0);
}

const MAX_LINKS = 40;

function walk(abs: string, asked: string, who: Accessor, access: Access, within: string | null, links: number): PathBlock | null {
  const parts = abs.split(sep).filter((p) => p !== '');
  let dir: string = sep;
  for (let i = 0; ; i++) {
    const st = statOrNull(dir);
    if (st === null) return missing(asked, dir);
    const judged = within === null || inside(dir, within);
    const need: Access = i === parts.length ? access : 'search';
    const entry: EntryMode = { mode: st.mode, uid: st.uid, gid: st.gid, isDirectory: st.isDirectory() };
    if (judged && !permits(entry, who, need)) return { path: asked, blockedAt: dir, need, mode: st.mode, uid: st.uid, gid: st.gid };
    if (i === parts.length) return null;
    if (!entry.isDirectory) return missing(asked, dir);
    const next = join(dir, parts[i]);
    let l: Stats;
    try {
      l = lstatSync(next);
    } catch {
      return missing(asked, next);
    }
    if (l.isSymbolicLink()) {
      if (links >= MAX_LINKS) return missing(asked, next);
      const link = readlinkSync(next);
      const to = resolve(dir, link);
      // A process behind a bind mount of `within` resolves an absolute link from the real root, and a
      // relative one leaving `within` lands beside the mount point: judge either from / (conservative).
      const stays = within !== null && !isAbsolute(link) && inside(to, within);
      return walk(join(to, ...parts.slice(i + 1)), asked, who, access, stays ? within : null, links + 1);
    }
    dir = next;
  }
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function missing(path: string, at: string): PathBlock {
  return { path, blockedAt: at, need: 'missing', mode: 0, uid: 0, gid: 0 };
}
