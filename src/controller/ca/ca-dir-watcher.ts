// Follows the issuing CA directory while the controller runs: roots added to or removed from the trust bundle, a new issuing CA, applied live.
//
// `ferry certs rotate-root` edits the directory the controller was started with (--ca-dir); this
// watcher polls the files' contents every second and, when they changed and load as a whole (key
// matching certificate, the issuing CA chaining to a root of the bundle), updates the live trust
// bundle, swaps the issuer's signing CA and re-issues the controller's own certificate. A directory
// caught half-written, or one that does not load, leaves everything as it was and is tried again.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CA_CERT_FILE, CA_KEY_FILE, TRUST_BUNDLE_FILE, loadIntermediateCa } from '../../../certs/intermediate-ca';
import type { WorkloadIssuer } from '../../../certs/issuer';
import type { Clock, Timer } from '../../clock/clock';
import type { Logger } from '../../observability/logger';
import type { ServingIdentity } from './serving-identity';

export interface CaDirWatcherOptions {
  readonly dir: string;
  readonly issuer: WorkloadIssuer;
  readonly serving: ServingIdentity;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Poll interval (default 1 s). */
  readonly intervalMs?: number;
}

/** What a reload changed. */
export interface CaDirChange {
  readonly rootsAdded: readonly string[];
  readonly rootsRemoved: readonly string[];
  readonly issuerReplaced: boolean;
}

export class CaDirWatcher {
  #digest: string | null = null;
  #timer: Timer | null = null;
  #stopped = false;
  #busy = false;

  constructor(private readonly o: CaDirWatcherOptions) {}

  async #readDigest(): Promise<string> {
    const h = createHash('sha256');
    for (const f of [TRUST_BUNDLE_FILE, CA_CERT_FILE, CA_KEY_FILE]) h.update(await fs.readFile(path.join(this.o.dir, f))).update('\0');
    return h.digest('hex');
  }

  /** Remembers the directory as the controller loaded it, then polls. */
  async start(): Promise<void> {
    this.#digest = await this.#readDigest();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.o.clock.setTimeout(() => {
      this.#timer = null;
      void this.check().finally(() => this.#schedule());
    }, this.o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Reloads if the files changed since the last good load; null when nothing changed or the new files were refused. */
  async check(): Promise<CaDirChange | null> {
    if (this.#busy) return null;
    this.#busy = true;
    try {
      let digest: string;
      try {
        digest = await this.#readDigest();
      } catch (err) {
        this.o.logger.warn('CA directory unreadable; keeping the loaded CA', { dir: this.o.dir, error: (err as Error).message });
        return null;
      }
      if (digest === this.#digest) return null;
      try {
        const change = await this.#apply();
        this.#digest = digest;
        return change;
      } catch (err) {
        // Possibly caught between two of a command's writes: the next poll tries again.
        this.o.logger.warn('CA directory changed but does not load; keeping the loaded CA', { dir: this.o.dir, error: (err as Error).message });
        return null;
      }
    } finally {
      this.#busy = false;
    }
  }

  async #apply(): Promise<CaDirChange> {
    const { issuer, serving } = this.o;
    const ca = await loadIntermediateCa(this.o.dir, this.o.clock.wallNow());
    const live = issuer.trustBundle;
    const wanted = ca.trustBundle;
    const before = new Set(live.fingerprints);
    const rootsAdded = wanted.fingerprints.filter((fp) => !before.has(fp));
    const rootsRemoved = live.fingerprints.filter((fp) => !wanted.has(fp));
    const issuerReplaced = ca.certPem.trim() !== issuer.signingCaPem.trim();
    // loadIntermediateCa checked that the issuing CA chains to a root of the new bundle, so once the
    // bundle is the new one the issuer verifies. New roots first (a new issuing CA under one of them
    // must verify when it is installed), old ones last.
    for (const pem of wanted.rootPems) live.add(pem);
    if (issuerReplaced) {
      try {
        issuer.replaceSigningCa(ca);
      } catch (err) {
        for (const fp of rootsAdded) live.remove(fp);
        throw err;
      }
    }
    for (const fp of rootsRemoved) live.remove(fp);
    await serving.refresh();
    this.o.logger.info('CA directory reloaded', { dir: this.o.dir, roots: live.fingerprints, rootsAdded, rootsRemoved, issuerReplaced, issuer: ca.cert.subject });
    return { rootsAdded, rootsRemoved, issuerReplaced };
  }
}
