// The three file steps of a root rotation in a live issuing-CA directory (the controller's --ca-dir, which it follows while running).
//
// add:        the new root joins the trust bundle (root-cert.pem); the issuing CA stays under the old root.
// switch:     a new issuing CA under the new root replaces ca-cert.pem / ca-key.pem / cert-chain.pem; the bundle keeps both roots.
// remove-old: the bundle holds only the new root.
// Whether the mesh is ready for the next step (every sidecar trusting the new root, then holding a
// certificate under it) is asked of the sidecars by the CLI before it calls switch or remove-old.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { systemClock, type Clock } from '../src/clock/clock';
import { FerryError } from '../src/errors';
import { TRUST_BUNDLE_FILE, createIntermediateCa, loadIntermediateCa, saveIntermediateCa, type IssuingCa } from './intermediate-ca';
import { PUBLIC_MODE, writePemFile } from './pem-files';
import { ROOT_KEY_FILE, createRootCa, loadRootCa, saveRootCa, type CaKeyPair } from './root-ca';
import { TrustBundle } from './trust-bundle';

const DAY_MS = 24 * 3600 * 1000;

/** A rotation step refused: the directory is not in the state the step needs, or the mesh is not ready for it. */
export class RootRotationError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_ROOT_ROTATION', message);
  }
}

export interface RotateRootArgs {
  /** The issuing CA directory the controller runs with (--ca-dir). */
  readonly caDir: string;
  /** The new root's directory (root-cert.pem, root-key.pem); `add` creates it when it holds no root. */
  readonly newRootDir: string;
  /** Lifetime of what a step creates (the new root in `add`, the issuing CA in `switch`); defaults as `ferry certs`. */
  readonly ttlDays?: number;
  readonly clock?: Clock;
}

/** Where a CA directory stands in a rotation to `newRoot`. */
export interface RotationState {
  readonly ca: IssuingCa;
  readonly newRoot: CaKeyPair;
  readonly newRootFingerprint: string;
  /** Roots of the bundle other than the new one. */
  readonly oldRoots: readonly string[];
  /** The issuing CA chains to the new root. */
  readonly switched: boolean;
}

function fingerprint(pem: string): string {
  return new TrustBundle([pem]).fingerprints[0];
}

function ttlMs(days: number | undefined): number | undefined {
  if (days === undefined) return undefined;
  if (!(Number.isFinite(days) && days > 0)) throw new RootRotationError(`--ttl-days: must be a positive number of days, got ${days}`);
  return days * DAY_MS;
}

export async function rotationState(caDir: string, newRootDir: string, now: number): Promise<RotationState> {
  const ca = await loadIntermediateCa(caDir, now);
  const newRoot = await loadRootCa(newRootDir);
  const fp = fingerprint(newRoot.certPem);
  const switched = ca.trustBundle.has(fp) && ca.trustBundle.verifyChain([ca.certPem], now).rootFingerprint256 === fp;
  return { ca, newRoot, newRootFingerprint: fp, oldRoots: ca.trustBundle.fingerprints.filter((x) => x !== fp), switched };
}

/** Step 1: the new root (created in newRootDir if none is there) joins the bundle the CA hands out. */
export async function rotateRootAdd(a: RotateRootArgs): Promise<string> {
  const now = (a.clock ?? systemClock).wallNow();
  const ca = await loadIntermediateCa(a.caDir, now);
  const hasRoot = await fs.stat(path.join(a.newRootDir, ROOT_KEY_FILE)).then(() => true, () => false);
  const lines: string[] = [];
  let root: CaKeyPair;
  if (hasRoot) {
    root = await loadRootCa(a.newRootDir);
  } else {
    root = await createRootCa({ ttlMs: ttlMs(a.ttlDays), clock: a.clock });
    const { certFile, keyFile } = await saveRootCa(a.newRootDir, root);
    lines.push(`created root CA "${root.cert.subject}": ${certFile}, key (0600, keep offline) ${keyFile}`);
  }
  const fp = fingerprint(root.certPem);
  if (ca.trustBundle.has(fp)) return [...lines, `the trust bundle already holds the new root (sha256 ${fp}); next: ferry certs rotate-root switch`].join('\n');
  ca.trustBundle.add(root.certPem);
  const file = await writePemFile(a.caDir, TRUST_BUNDLE_FILE, ca.trustBundle.toPem(), PUBLIC_MODE);
  return [
    ...lines,
    `added the new root (sha256 ${fp}) to ${file}: ${ca.trustBundle.size} roots; the CA still signs under the old one`,
    'every sidecar trusts both roots after its next renewal (ferry check shows when); next: ferry certs rotate-root switch',
  ].join('\n');
}

/** Step 2: a new issuing CA under the new root; the bundle keeps every root. */
export async function rotateRootSwitch(a: RotateRootArgs): Promise<string> {
  const now = (a.clock ?? systemClock).wallNow();
  const st = await rotationState(a.caDir, a.newRootDir, now);
  if (!st.ca.trustBundle.has(st.newRootFingerprint)) throw new RootRotationError(`${path.join(a.caDir, TRUST_BUNDLE_FILE)} does not hold the new root yet: run ferry certs rotate-root add first`);
  if (st.switched) return `the issuing CA already chains to the new root (sha256 ${st.newRootFingerprint}); next: ferry certs rotate-root remove-old`;
  const others = st.ca.trustBundle.rootPems.filter((p) => fingerprint(p) !== st.newRootFingerprint);
  const ca = await createIntermediateCa(st.newRoot, { ttlMs: ttlMs(a.ttlDays), extraRootPems: others, now });
  await saveIntermediateCa(a.caDir, ca);
  return [
    `issuing CA "${ca.cert.subject}" under the new root written to ${a.caDir}; the bundle keeps ${ca.trustBundle.size} roots`,
    'sidecars get certificates under the new root at their next renewal; next: ferry certs rotate-root remove-old',
  ].join('\n');
}

/** Step 3: the bundle holds the new root only. */
export async function rotateRootRemoveOld(a: RotateRootArgs): Promise<string> {
  const now = (a.clock ?? systemClock).wallNow();
  const st = await rotationState(a.caDir, a.newRootDir, now);
  if (!st.switched) throw new RootRotationError(`the issuing CA in ${a.caDir} does not chain to the new root yet: run ferry certs rotate-root switch first`);
  if (st.oldRoots.length === 0) return `the trust bundle holds only the new root (sha256 ${st.newRootFingerprint}); the rotation is complete`;
  const file = await writePemFile(a.caDir, TRUST_BUNDLE_FILE, new TrustBundle([st.newRoot.certPem]).toPem(), PUBLIC_MODE);
  return [
    `removed ${st.oldRoots.length} old root${st.oldRoots.length === 1 ? '' : 's'} (${st.oldRoots.join(', ')}) from ${file}`,
    'sidecars drop the old root at their next renewal; the rotation is complete',
  ].join('\n');
}
