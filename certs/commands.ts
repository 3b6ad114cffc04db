// `ferry certs root` and `ferry certs intermediate`: create the mesh CAs on disk and say what was written.

import { systemClock, type Clock } from '../src/clock/clock';
import { ConfigError } from '../src/errors';
import { CA_KEY_FILE, createIntermediateCa, saveIntermediateCa } from './intermediate-ca';
import { refuseExisting, readPemFile } from './pem-files';
import { ROOT_KEY_FILE, createRootCa, loadRootCa, saveRootCa } from './root-ca';
import { TrustBundle } from './trust-bundle';
import * as path from 'node:path';

const DAY_MS = 24 * 3600 * 1000;

export interface CertsRootArgs {
  readonly outDir: string;
  /** Default 3650 (10 years). */
  readonly ttlDays?: number;
  /** Overwrite an existing root-key.pem. */
  readonly force?: boolean;
  /** The issue time's source; default systemClock. */
  readonly clock?: Clock;
}

export interface CertsIntermediateArgs {
  readonly rootDir: string;
  readonly outDir: string;
  /** Default 365, and never past the root's expiry. */
  readonly ttlDays?: number;
  /** Further root certificate files to trust as well (a root rotation: the old root's root-cert.pem). */
  readonly alsoTrust?: readonly string[];
  readonly force?: boolean;
  /** The issue time's source; default systemClock. */
  readonly clock?: Clock;
}

function ttlMs(ttlDays: number | undefined, flag: string): number | undefined {
  if (ttlDays === undefined) return undefined;
  if (!Number.isFinite(ttlDays) || ttlDays <= 0) throw new ConfigError(flag, `must be a positive number of days, got ${ttlDays}`);
  return ttlDays * DAY_MS;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** `ferry certs root --out DIR [--ttl-days N] [--force]`. */
export async function certsRootCommand(args: CertsRootArgs): Promise<string> {
  const ttl = ttlMs(args.ttlDays, '--ttl-days');
  if (!args.outDir) throw new ConfigError('--out', 'is required');
  if (!args.force) await refuseExisting(args.outDir, ROOT_KEY_FILE);
  const root = await createRootCa({ ttlMs: ttl, clock: args.clock });
  const { certFile, keyFile } = await saveRootCa(args.outDir, root);
  const fp = new TrustBundle([root.certPem]).fingerprints[0];
  return [
    `root CA "${root.cert.subject}" valid ${day(root.cert.notBefore)} to ${day(root.cert.notAfter)}`,
    `  certificate: ${certFile}`,
    `  key (0600):  ${keyFile}  -- keep offline; only \`ferry certs intermediate\` needs it`,
    `  sha256:      ${fp}`,
  ].join('\n');
}

/** `ferry certs intermediate --root DIR --out DIR [--ttl-days N] [--also-trust FILE]... [--force]`. */
export async function certsIntermediateCommand(args: CertsIntermediateArgs): Promise<string> {
  const ttl = ttlMs(args.ttlDays, '--ttl-days');
  if (!args.rootDir) throw new ConfigError('--root', 'is required');
  if (!args.outDir) throw new ConfigError('--out', 'is required');
  if (!args.force) await refuseExisting(args.outDir, CA_KEY_FILE);
  const root = await loadRootCa(args.rootDir);
  const extraRootPems: string[] = [];
  for (const file of args.alsoTrust ?? []) {
    const pem = await readPemFile(path.dirname(file), path.basename(file));
    extraRootPems.push(...TrustBundle.fromPem(pem).rootPems);
  }
  const now = (args.clock ?? systemClock).wallNow();
  const ca = await createIntermediateCa(root, { ttlMs: ttl, extraRootPems, now });
  const files = await saveIntermediateCa(args.outDir, ca);
  const clamped = ttl !== undefined && ca.cert.notAfter.getTime() < now + ttl - DAY_MS;
  return [
    `issuing CA "${ca.cert.subject}" signed by "${root.cert.subject}", valid ${day(ca.cert.notBefore)} to ${day(ca.cert.notAfter)}${clamped ? ' (clamped to the root)' : ''}`,
    `  trust bundle: ${ca.trustBundle.size} root(s)`,
    ...files.map((f) => `  wrote ${f}`),
  ].join('\n');
}
