// Turns generated rules plus the current `iptables-save -t nat` into one atomic restore payload.
//
// Declaring a chain in an `iptables-restore --noflush` payload flushes it, so Ferry's own chains
// are rewritten in place; the jumps from PREROUTING/OUTPUT are not, so every existing jump into a
// FERRY_ chain is deleted in the same payload before the new ones are appended. One COMMIT: either
// the whole new state is in force or nothing changed.

const FERRY_CHAIN = /^FERRY_[A-Z_]+$/;

interface SavedNat {
  /** Ferry chains that exist (declared `:FERRY_X - [..]`). */
  readonly chains: string[];
  /** `-A CHAIN ... -j FERRY_X` lines in chains that are not Ferry's. */
  readonly jumps: string[];
}

/** Reads the nat table section of `iptables-save` output (other tables are ignored). */
export function parseSavedNat(save: string): SavedNat {
  const chains: string[] = [];
  const jumps: string[] = [];
  let inNat = false;
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inNat = line === '*nat';
    if (!inNat) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (FERRY_CHAIN.test(name)) chains.push(name);
    } else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1];
      const target = / -j (\S+)/.exec(line)?.[1] ?? '';
      if (!FERRY_CHAIN.test(chain) && FERRY_CHAIN.test(target)) jumps.push(line);
    }
  }
  return { chains, jumps };
}

/** The install payload: `rules` (from buildRules) with stale jumps deleted first. */
export function installPayload(rules: string, currentSave: string): string {
  const { jumps } = parseSavedNat(currentSave);
  if (jumps.length === 0) return rules;
  const lines = rules.split('\n');
  let at = lines.findIndex((l) => l.startsWith('-'));
  if (at < 0) at = lines.indexOf('COMMIT');
  const deletes = jumps.map((j) => `-D ${j.slice(3)}`);
  return [...lines.slice(0, at), ...deletes, ...lines.slice(at)].join('\n');
}

/** The cleanup payload (jumps deleted, chains flushed then removed), or null when nothing is installed. */
export function cleanupPayload(currentSave: string): string | null {
  const { chains, jumps } = parseSavedNat(currentSave);
  if (chains.length === 0 && jumps.length === 0) return null;
  return [
    '*nat',
    ...jumps.map((j) => `-D ${j.slice(3)}`),
    ...chains.map((c) => `-F ${c}`),
    ...chains.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** The lines of the nat table that belong to Ferry (its chains' rules and the jumps), in save order. */
export function ferryLines(save: string): string[] {
  const out: string[] = [];
  let inNat = false;
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inNat = line === '*nat';
    if (!inNat) continue;
    if (/^:FERRY_/.test(line)) out.push(line.split(' ')[0]);
    else if (line.startsWith('-A ') && (/^-A FERRY_/.test(line) || / -j FERRY_/.test(line))) out.push(line);
  }
  return out;
}
