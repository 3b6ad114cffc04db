// The file registry: a YAML file or folder of Kubernetes objects, watched and reloaded; a bad reload keeps the previous model.

import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { systemClock, type Clock, type Timer } from '../../clock/clock';
import { ConfigError, ConfigFileError, FerryError } from '../../errors';
import { DebounceState } from '../ads/debounce';
import { Logger, rootLogger } from '../../observability/logger';
import { buildMeshModel } from '../model/build-model';
import { objectKey, parseObject } from '../model/object-store';
import type { MeshModel, MeshObject, ServiceObject } from '../model/types';
import { ClusterIpAllocator } from './ip-allocator';
import type { ChangeTimes } from '../types';
import type { Registry } from './registry';
import { parseYamlDocuments, type SourceDocument } from './yaml-documents';

export interface FileRegistryOptions {
  /** A .yaml/.yml/.json file, or a folder of them (read recursively, in name order). */
  path: string;
  /** Where Services without a clusterIP get one (default 10.96.0.0/16). */
  serviceCidr?: string;
  /**
   * Quiet period after the last file event before reloading (default 20 ms: enough to gather the
   * events of one write; the controller debounces model changes again before pushing).
   */
  debounceMs?: number;
  /**
   * Bound on that wait under a steady stream of writes (default 10 × debounceMs, at least 1 s: the
   * controller's own bound on a push under steady change, so the registry adds no staleness the
   * controller would not allow; decision 0033): files written more often than the quiet period are
   * still read this often, not only once the writes pause.
   */
  maxDebounceMs?: number;
  /**
   * Also look for changes this often (default 1,000 ms; 0 disables): file events are lost when a file
   * is replaced by rename or a mounted ConfigMap swaps its symlinks, so a cheap stat sweep backs them up.
   */
  pollMs?: number;
  /** Watch for changes (default true). */
  watch?: boolean;
  clusterDomain?: string;
  trustDomain?: string;
  logger?: Logger;
  /** Time and timers (default systemClock); event times are its now(), the controller's clock. */
  clock?: Clock;
  /** Called when a reload fails (the previous model stays). */
  onError?: (err: Error) => void;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function listFiles(path: string, dirs?: string[]): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  dirs?.push(path);
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, dirs)));
    else if (EXTENSIONS.has(extname(e.name))) out.push(p);
  }
  return out;
}

/** The last path segment of a ConfigError raised inside an object: `Kind ns/name: spec.x` → `spec.x`. */
function fieldPath(err: ConfigError): string {
  const i = err.path.lastIndexOf(': ');
  return i < 0 ? err.path : err.path.slice(i + 2);
}

export class FileRegistry implements Registry {
  readonly path: string;
  private readonly allocator: ClusterIpAllocator;
  private readonly log: Logger;
  private current: MeshModel | null = null;
  private onChange: ((model: MeshModel, times?: ChangeTimes) => void) | null = null;
  /** When the file events behind the next load happened (null: none pending). */
  private eventTimes: { first: number; last: number } | null = null;
  /**
   * One watcher per folder of the registry, none recursive: Node's recursive watch on Linux follows
   * files by inode, so a file replaced by rename (every atomic write) is no longer watched.
   */
  private readonly watchers = new Map<string, FSWatcher>();
  private watching = false;
  /** The registry's folders at the last load (the folders to watch). */
  private dirs: string[] = [];
  private pollTimer: Timer | null = null;
  /** Parsed objects per file, with the text they came from. */
  private readonly parsedFiles = new Map<string, { text: string; entries: { obj: MeshObject; where: string }[] }>();
  /** Size, mtime and inode of each file at the last sweep. */
  private fingerprint = new Map<string, string>();
  /** Files to read again at the next load; null: all of them (start, unknown events, after a failure). */
  private dirty: Set<string> | null = null;
  private timer: Timer | null = null;
  private readonly debounce: DebounceState;
  private loading: Promise<boolean> | null = null;
  private again = false;
  private lastError: string | null = null;
  private lastLoadAt: string | null = null;
  private reloads = 0;
  private isDirectory = false;
  private failures = 0;
  private objectCount = 0;
  private readonly clock: Clock;

  constructor(private readonly options: FileRegistryOptions) {
    this.path = resolve(options.path);
    this.allocator = new ClusterIpAllocator(options.serviceCidr);
    this.log = options.logger ?? rootLogger.child('registry');
    this.clock = options.clock ?? systemClock;
    const quiet = options.debounceMs ?? 20;
    this.debounce = new DebounceState(quiet, Math.max(quiet, options.maxDebounceMs ?? Math.max(1000, quiet * 10)));
  }

  get model(): MeshModel | null {
    return this.current;
  }

  async start(onChange: (model: MeshModel, times?: ChangeTimes) => void): Promise<void> {
    this.onChange = onChange;
    const model = await this.load();
    this.current = model;
    this.lastLoadAt = new Date(this.clock.wallNow()).toISOString();
    if (this.options.watch !== false) this.startWatching();
    onChange(model);
  }

  async stop(): Promise<void> {
    this.onChange = null;
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.pollTimer) this.clock.clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.loading?.catch(() => undefined);
  }

  /** Reads every file again now; resolves true when a new model was published, false when it failed or was unchanged. */
  reload(): Promise<boolean> {
    this.dirty = null;
    return this.reloadChanged();
  }

  /** Reloads, reading only the files marked dirty since the last load. */
  private reloadChanged(): Promise<boolean> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.reloadOnce().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        void this.reloadChanged();
      }
    });
    return this.loading;
  }

  debug(): Record<string, unknown> {
    return {
      source: `file:${this.path}`,
      serviceCidr: this.allocator.cidr,
      allocations: this.allocator.list(),
      modelVersion: this.current?.version ?? null,
      objects: this.objectCount,
      services: this.current?.services.length ?? 0,
      lastLoadAt: this.lastLoadAt,
      reloads: this.reloads,
      failedReloads: this.failures,
      lastError: this.lastError,
      warnings: this.current?.warnings ?? [],
    };
  }

  private async reloadOnce(): Promise<boolean> {
    const events = this.eventTimes;
    this.eventTimes = null;
    try {
      const model = await this.load().finally(() => this.syncWatchers());
      this.lastError = null;
      this.lastLoadAt = new Date(this.clock.wallNow()).toISOString();
      this.reloads++;
      if (this.current && model.version === this.current.version) return false;
      this.current = model;
      this.log.info('registry reloaded', { path: this.path, version: model.version, services: model.services.length });
      this.onChange?.(model, events ? { firstEventAt: events.first, lastEventAt: events.last } : undefined);
      return true;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.dirty = null;
      this.failures++;
      this.lastError = err.message;
      this.log.error('registry reload failed; keeping the previous model', { path: this.path, error: err.message });
      this.options.onError?.(err);
      return false;
    }
  }

  private startWatching(): void {
    this.watching = true;
    this.syncWatchers();
    const pollMs = this.options.pollMs ?? 1_000;
    if (pollMs > 0) {
      void this.takeFingerprint().then((f) => (this.fingerprint = f));
      this.pollTimer = this.clock.setInterval(() => {
        void this.takeFingerprint().then((f) => {
          const changed: string[] = [];
          for (const [file, sig] of f) if (this.fingerprint.get(file) !== sig) changed.push(file);
          for (const file of this.fingerprint.keys()) if (!f.has(file)) changed.push(file);
          this.fingerprint = f;
          if (changed.length === 0) return;
          for (const file of changed) this.markDirty(file);
          this.schedule(undefined);
        });
      }, pollMs);
      this.pollTimer.unref();
    }
  }

  /**
   * Watches the registry's folders as the last load found them (a single file through its folder:
   * editors replace files by renaming); a folder added or removed is (un)watched after the next load.
   */
  private syncWatchers(): void {
    if (!this.watching) return;
    const only = this.isDirectory ? null : basename(this.path);
    const wanted = new Set(this.isDirectory ? this.dirs : [dirname(this.path)]);
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, (_event, name) => {
          if (only !== null && name !== null && basename(String(name)) !== only) return;
          // A registry file named by the event is read again; anything else (a folder, a ConfigMap's
          // symlink swap, no name at all) makes the next load read everything.
          const file = name === null ? null : only !== null ? this.path : join(dir, String(name));
          this.schedule(file !== null && EXTENSIONS.has(extname(file)) ? file : null);
        });
      } catch (e) {
        // Gone since the load: the next load sees it, and the stat sweep backs the watchers up.
        this.log.warn('registry watch error', { dir, error: (e as Error).message });
        continue;
      }
      w.on('error', (err) => {
        this.log.warn('registry watch error', { dir, error: err.message });
        w.close();
        if (this.watchers.get(dir) === w) this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    }
  }

  /** Names, sizes, modification times and inodes of the registry's files (what a change would alter). */
  private async takeFingerprint(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    try {
      const files = this.isDirectory ? await listFiles(this.path) : [this.path];
      const stats = await Promise.all(files.map((f) => stat(f).catch(() => null)));
      for (let i = 0; i < files.length; i++) {
        const st = stats[i];
        if (st) out.set(files[i], `${st.size}:${st.mtimeMs}:${st.ino}`);
      }
    } catch {
      /* the folder is gone: an empty fingerprint, and the load reports the error */
    }
    return out;
  }

  private markDirty(file: string | null): void {
    if (file === null) this.dirty = null;
    else this.dirty?.add(file);
  }

  /** `file`: read that file again; null: read all; undefined: already marked. */
  private schedule(file: string | null | undefined): void {
    if (file !== undefined) this.markDirty(file);
    const now = this.clock.now();
    if (this.eventTimes) this.eventTimes.last = now;
    else this.eventTimes = { first: now, last: now };
    this.debounce.event(now);
    this.arm();
  }

  /** One timer for the debouncer's due time: a quiet period after the last event, or its bound after the first. */
  private arm(): void {
    const due = this.debounce.dueAt();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (due === null) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      // A timer may run a little early; then it waits for the rest.
      if (this.debounce.fire(this.clock.now())) void this.reloadChanged();
      else this.arm();
    }, Math.max(0, due - this.clock.now()));
  }

  /** Reads, validates and builds; throws ConfigFileError naming file, line and field on the first problem. */
  private async load(): Promise<MeshModel> {
    let files: string[];
    try {
      this.isDirectory = (await stat(this.path)).isDirectory();
      const dirs: string[] = [];
      files = await listFiles(this.path, dirs);
      this.dirs = dirs;
    } catch (e) {
      throw new ConfigFileError(this.path, (e as Error).message, { cause: e });
    }
    const objects = new Map<string, { obj: MeshObject; where: string }>();
    // Only files named by events since the last load (and new ones) are read: a mesh of a thousand
    // files changes one at a time. The rest are read at once (a large registry is many small files).
    const dirty = this.dirty;
    this.dirty = new Set();
    const texts = await Promise.all(
      files.map((file) => {
        const cached = this.parsedFiles.get(file);
        if (cached !== undefined && dirty !== null && !dirty.has(file)) return cached.text;
        return readFile(file, 'utf8').catch((e: Error) => {
          throw new ConfigFileError(file, e.message, { cause: e });
        });
      }),
    );
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      const text = texts[i];
      // Unchanged files are not parsed again.
      const cached = this.parsedFiles.get(file);
      let entries: { obj: MeshObject; where: string }[];
      if (cached !== undefined && cached.text === text) entries = cached.entries;
      else {
        entries = [];
        for (const doc of parseYamlDocuments(file, text)) {
          for (const { value, prefix } of this.items(doc)) {
            let obj: MeshObject | null;
            try {
              obj = parseObject(value);
            } catch (e) {
              if (!(e instanceof ConfigError)) throw e;
              const line = doc.lineOf(prefix + fieldPath(e));
              throw new ConfigFileError(`${file}:${line}`, `document ${doc.index + 1}: ${e.message}`, { cause: e });
            }
            if (obj) entries.push({ obj, where: `${file}:${doc.line}` });
          }
        }
        this.parsedFiles.set(file, { text, entries });
      }
      for (const { obj, where } of entries) {
        const key = objectKey(obj);
        const prev = objects.get(key);
        if (prev) throw new ConfigFileError(where, `${obj.kind} ${'namespace' in obj ? `${obj.namespace}/` : ''}${obj.name} is also defined at ${prev.where}`);
        objects.set(key, { obj, where });
      }
    }
    const present = new Set(files);
    for (const f of [...this.parsedFiles.keys()]) if (!present.has(f)) this.parsedFiles.delete(f);
    const list = this.allocateClusterIps([...objects.values()].map((o) => o.obj));
    this.objectCount = list.length;
    return buildMeshModel(list, { clusterDomain: this.options.clusterDomain, trustDomain: this.options.trustDomain, previous: this.current });
  }

  /** A document is one object, or a `kind: List` of them. */
  private items(doc: SourceDocument): { value: unknown; prefix: string }[] {
    const v = doc.value as Record<string, unknown>;
    if (v && typeof v === 'object' && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
      return v.items.map((value, i) => ({ value, prefix: `items[${i}].` }));
    }
    return [{ value: v, prefix: '' }];
  }

  private allocateClusterIps(objects: MeshObject[]): MeshObject[] {
    const services = objects.filter((o): o is ServiceObject => o.kind === 'Service');
    const taken = new Set<string>();
    for (const s of services) {
      if (s.clusterIP === null) continue;
      if (taken.has(s.clusterIP)) {
        const other = services.find((x) => x !== s && x.clusterIP === s.clusterIP)!;
        throw new FerryError('FERRY_ERR_CONFIG', `Service ${s.namespace}/${s.name}: spec.clusterIP: ${s.clusterIP} is also used by Service ${other.namespace}/${other.name}`);
      }
      taken.add(s.clusterIP);
    }
    const wanting = services.filter((s) => s.clusterIP === null && !s.headless).map((s) => `${s.namespace}/${s.name}`);
    const alloc = this.allocator.allocate(wanting, taken);
    return objects.map((o) => {
      if (o.kind !== 'Service' || o.clusterIP !== null || o.headless) return o;
      return { ...o, clusterIP: alloc.get(`${o.namespace}/${o.name}`)! };
    });
  }
}
