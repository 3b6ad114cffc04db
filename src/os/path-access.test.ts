// Tests for path access: the mode-bit decision as a table, and walks over real folders (private parents, links, within).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePathBlock, findPathBlock, permits, type Access, type Accessor, type EntryMode } from './path-access';

const PROXY: Accessor = { uid: 1337, gid: 1337, groups: [] };
const dir = (mode: number, uid = 0, gid = 0): EntryMode => ({ mode, uid, gid, isDirectory: true });
const file = (mode: number, uid = 0, gid = 0): EntryMode => ({ mode, uid, gid, isDirectory: false });

test('permits: owner, group, then others; root passes all but executing a file nobody may execute', () => {
  const cases: [string, EntryMode, Accessor, Access, boolean][] = [
    ['0700 directory of root blocks others', dir(0o700), PROXY, 'search', false],
    ['0711 lets others through', dir(0o711), PROXY, 'search', true],
    ['0711 does not let others list', dir(0o711), PROXY, 'read', false],
    ['0755 lets others through', dir(0o755), PROXY, 'search', true],
    ['0744: readable, not searchable', dir(0o744), PROXY, 'search', false],
    ['owner with 0700', dir(0o700, 1337, 0), PROXY, 'search', true],
    ['owner bits decide even when others have more', dir(0o077, 1337, 0), PROXY, 'search', false],
    ['group 0710 with the primary group', dir(0o710, 0, 1337), PROXY, 'search', true],
    ['group 0710 with a supplementary group', dir(0o710, 0, 42), { uid: 1337, gid: 1337, groups: [42] }, 'search', true],
    ['group 0710 without the group', dir(0o710, 0, 42), PROXY, 'search', false],
    ['group bits decide even when others have more', dir(0o701, 0, 1337), PROXY, 'search', false],
    ['file 0644 readable by others', file(0o644), PROXY, 'read', true],
    ['file 0600 not readable by others', file(0o600), PROXY, 'read', false],
    ['file 0755 executable by others', file(0o755), PROXY, 'execute', true],
    ['file 0750 not executable by others', file(0o750), PROXY, 'execute', false],
    ['root reads a 0000 file', file(0o000), { uid: 0, gid: 0, groups: [] }, 'read', true],
    ['root searches a 0700 directory of someone else', dir(0o700, 1337, 1337), { uid: 0, gid: 0, groups: [] }, 'search', true],
    ['root cannot execute a file without any x bit', file(0o644), { uid: 0, gid: 0, groups: [] }, 'execute', false],
    ['root executes a file with any x bit', file(0o100, 1337), { uid: 0, gid: 0, groups: [] }, 'execute', true],
  ];
  for (const [name, entry, who, access, want] of cases) assert.equal(permits(entry, who, access), want, name);
});

function tree(t: { after(fn: () => void): void }): string {
  const base = mkdtempSync(join(tmpdir(), 'ferry-path-access-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  chmodSync(base, 0o755);
  return base;
}

test('findPathBlock: a 0700 parent blocks and is named; 0711 passes; the file itself must be readable', (t) => {
  const base = tree(t);
  const repo = join(base, 'private', 'ferry');
  mkdirSync(join(repo, 'bin'), { recursive: true });
  writeFileSync(join(repo, 'bin', 'ferry'), '#!/usr/bin/env node\n', { mode: 0o755 });
  chmodSync(join(base, 'private'), 0o700);
  const target = join(repo, 'bin', 'ferry');

  const b = findPathBlock(target, PROXY, 'read');
  assert.deepEqual(b && { blockedAt: b.blockedAt, need: b.need, mode: b.mode & 0o777 }, { blockedAt: join(base, 'private'), need: 'search', mode: 0o700 });
  assert.equal(describePathBlock(b!, PROXY), `UID 1337 cannot search ${join(base, 'private')}, on the way to ${target} (mode 0700, owner 0:0)`);
  assert.equal(findPathBlock(target, { uid: 0, gid: 0, groups: [] }, 'read'), null, 'root is not blocked');

  chmodSync(join(base, 'private'), 0o711);
  assert.equal(findPathBlock(target, PROXY, 'read'), null);
  assert.equal(findPathBlock(target, PROXY, 'execute'), null);
  assert.equal(findPathBlock(join(base, 'private'), PROXY, 'read')?.need, 'read', 'passing through is not listing');

  chmodSync(target, 0o700);
  const f = findPathBlock(target, PROXY, 'read');
  assert.equal(f?.blockedAt, target);
  assert.equal(describePathBlock(f!, PROXY), `UID 1337 cannot read ${target} (mode 0700, owner 0:0)`);

  const gone = findPathBlock(join(repo, 'dist', 'main.js'), PROXY, 'read');
  assert.deepEqual(gone && { at: gone.blockedAt, need: gone.need }, { at: join(repo, 'dist'), need: 'missing' });
});

test('findPathBlock: the owner and the group of a private directory get through', { skip: process.getuid?.() !== 0 && 'needs root (chown)' }, (t) => {
  const base = tree(t);
  const own = join(base, 'own');
  mkdirSync(own, { mode: 0o700 });
  writeFileSync(join(own, 'f'), 'x', { mode: 0o644 });
  chownSync(own, 1337, 0);
  chmodSync(own, 0o700);
  assert.equal(findPathBlock(join(own, 'f'), PROXY, 'read'), null, 'owner');
  chownSync(own, 0, 1337);
  chmodSync(own, 0o710);
  assert.equal(findPathBlock(join(own, 'f'), PROXY, 'read'), null, 'group');
  chmodSync(own, 0o701);
  assert.equal(findPathBlock(join(own, 'f'), PROXY, 'read')?.blockedAt, own, 'group bits decide for a group member');
});

test('findPathBlock: links are followed, their targets judged from /; `within` judges only what a bind mount would show', (t) => {
  const base = tree(t);
  const shared = join(base, 'shared', 'node_modules');
  mkdirSync(join(shared, 'pkg'), { recursive: true });
  writeFileSync(join(shared, 'pkg', 'index.js'), '');
  const home = join(base, 'home');
  const repo = join(home, 'ferry');
  mkdirSync(repo, { recursive: true });
  symlinkSync(shared, join(repo, 'node_modules'));
  mkdirSync(join(repo, 'lib'));
  symlinkSync(join(repo, 'lib'), join(repo, 'lib-absolute'));
  symlinkSync('node_modules/pkg', join(repo, 'pkg-link'));
  chmodSync(home, 0o700);

  // Through the private home: blocked there.
  assert.equal(findPathBlock(join(repo, 'node_modules', 'pkg', 'index.js'), PROXY, 'read')?.blockedAt, home);
  // From a mount of the repository: the home no longer counts; the link leads to a reachable place.
  assert.equal(findPathBlock(join(repo, 'node_modules', 'pkg', 'index.js'), PROXY, 'read', { within: repo }), null);
  assert.equal(findPathBlock(join(repo, 'pkg-link', 'index.js'), PROXY, 'read', { within: repo }), null);
  // An absolute link back into the repository goes through the private home again.
  assert.equal(findPathBlock(join(repo, 'lib-absolute'), PROXY, 'search', { within: repo })?.blockedAt, home);
  // The repository's own mode still counts under a mount.
  chmodSync(repo, 0o700);
  assert.equal(findPathBlock(join(repo, 'pkg-link', 'index.js'), PROXY, 'read', { within: repo })?.blockedAt, repo);
  chmodSync(repo, 0o755);
  // A link out of the repository into a private place is judged all the way.
  chmodSync(join(base, 'shared'), 0o700);
  assert.equal(findPathBlock(join(repo, 'node_modules', 'pkg', 'index.js'), PROXY, 'read', { within: repo })?.blockedAt, join(base, 'shared'));
  // A link loop is reported, not followed forever.
  symlinkSync('loop-b', join(repo, 'loop-a'));
  symlinkSync('loop-a', join(repo, 'loop-b'));
  assert.equal(findPathBlock(join(repo, 'loop-a', 'x'), PROXY, 'read', { within: repo })?.need, 'missing');
});
