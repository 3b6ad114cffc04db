// One full garbage collection after start-up: parsing a large bootstrap leaves tens of megabytes of
// garbage that V8 would otherwise keep (and the process's RSS with it) until memory pressure.

import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export function collectStartupGarbage(): void {
  try {
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc === 'function') gc();
  } catch {
    /* an optimisation only */
  }
}
