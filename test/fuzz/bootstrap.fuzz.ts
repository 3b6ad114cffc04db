// Fuzz target: the Envoy v3 bootstrap reader, from file text (YAML or JSON) to the frozen BootstrapConfig.
//
// Input: one byte choosing the file's extension (.yaml or .json), then its text (seeded with the
// Envoy fixtures). Expected: ConfigFileError (syntax) and ConfigError (a field, named by its path).
// Asserted: an accepted bootstrap is deep-frozen, and reading the same file again gives the same config.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadBootstrapFile } from '../../src/config/bootstrap';
import { ConfigError, ConfigFileError } from '../../src/errors';
import { expectOnly, invariant, isDeepFrozen } from './support/fuzz-support';

let dir: string | null = null;

function scratchDir(): string {
  if (dir === null) {
    const d = mkdtempSync(join(tmpdir(), 'ferry-fuzz-bootstrap-'));
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
    dir = d;
  }
  return dir;
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const file = join(scratchDir(), (data[0] & 1) === 0 ? 'bootstrap.yaml' : 'bootstrap.json');
  writeFileSync(file, data.subarray(1));
  const r = expectOnly(() => loadBootstrapFile(file), ConfigError, ConfigFileError);
  if (r.error !== null) {
    invariant(r.error.message.startsWith(file), `the error does not name the file: ${r.error.message}`);
    return;
  }
  invariant(isDeepFrozen(r.value), 'the bootstrap config is not deep-frozen');
  invariant(isDeepStrictEqual(loadBootstrapFile(file), r.value), 'reading the same bootstrap twice gave different configs');
}
