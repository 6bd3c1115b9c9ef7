/**
 * The dataset mirror: a local directory in which each version the service reads is a Lance
 * dataset of symbolic links into the {@link ObjectCache}, so that the read connection opens it as a
 * local dataset and a warm query makes no request at all, not even to the loopback endpoint.
 *
 * Why, beside the read endpoint: a warm query makes ~35 small sequential reads (the refine step's
 * candidate vectors, the hits' columns). Served by the endpoint from the cache, each one still
 * crosses Lance's S3 client and Node's HTTP stack (0.15–0.3 ms), which kept warm search on the R2
 * profile at ~3× local disk. From the mirror they are local `pread`s, as on local disk.
 *
 * What stays with the endpoint: finding versions (Lance keeps listing the bucket through it, so
 * the staleness bound and read-your-writes are unchanged), and every read of a version the
 * mirror does not hold (one just committed, until its sync is done; time travel to old versions;
 * a version too big for the cache). A version enters the mirror only when every file it reads is
 * whole in the cache, checked against its CRCs, and pinned there; its manifest link is made last.
 * The newest {@link RETAINED} versions are kept; an older one leaves the mirror at once (readers
 * then open it through the endpoint) and its files are unpinned after {@link GRACE_MS}, so queries
 * already running on it finish.
 *
 * The links live in `<cache dir>/mirror/<pid>/` and are made again at each start. Processes that
 * share a cache directory each keep their own links, but not each other's pins: under pressure on
 * the byte bound, one may evict a file another one's mirror links. A read that then fails is
 * answered through the endpoint, and that version is synced again.
 */
import { mkdir, readdir, readFile, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { manifestPath, versionFiles } from './lance-manifest.js';
import type { ObjectCache } from './object-cache.js';

const RETAINED = 3;
/** How long a retired version's files stay pinned, for the queries still running on it. */
export const GRACE_MS = 60_000;
/** How often every mirrored file is checked against its CRCs again. */
const SCRUB_MS = 10 * 60_000;
/** Files checked or filled at once during a sync. */
const SYNC_CONCURRENCY = 8;

export class DatasetMirror {
  /** The synced versions, oldest first, with the cache keys each pinned. */
  private readonly synced = new Map<number, string[]>();
  private readonly syncing = new Map<number, Promise<boolean>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private scrubbing: Promise<void> | null = null;
  private closed = false;
  private readonly scrubTimer = setInterval(() => void this.scrub(), SCRUB_MS).unref();
  private readonly limit = pLimit(SYNC_CONCURRENCY);
  /** Told when a version leaves the mirror: handles opened on it must not be used for new reads. */
  onRetire: (version: number) => void = () => {};

  private constructor(
    private readonly cache: ObjectCache,
    /** The dataset's key prefix in the cache, as the read endpoint sees it: `/bucket/prefix/images.lance`. */
    private readonly datasetKey: string,
    /** The directory the read connection connects to; the dataset is `<root>/<datasetDir>`. */
    readonly root: string,
    private readonly datasetDir: string,
    private readonly logger?: Logger,
  ) {}

  /**
   * Opens a mirror of its own under `dir`, one per process (several may share a cache directory),
   * removing those of processes that are gone: their links may name entries evicted since.
   */
  static async open(options: {
    cache: ObjectCache;
    datasetKey: string;
    dir: string;
    datasetDir: string;
    logger?: Logger;
  }): Promise<DatasetMirror> {
    await mkdir(options.dir, { recursive: true });
    for (const name of await readdir(options.dir)) {
      if (name === String(process.pid) || !processGone(Number(name))) continue;
      await rm(path.join(options.dir, name), { recursive: true, force: true });
    }
    const root = path.join(options.dir, String(process.pid));
    await rm(root, { recursive: true, force: true });
    await mkdir(path.join(root, options.datasetDir, '_versions'), { recursive: true });
    return new DatasetMirror(options.cache, options.datasetKey, root, options.datasetDir, options.logger);
  }

  has(version: number): boolean {
    return this.synced.has(version);
  }

  /** True when every file `version` reads is in the cache already, so that a sync downloads nothing. */
  async cached(version: number): Promise<boolean> {
    const manifest = this.key(manifestPath(version));
    if (!this.cache.info(manifest)) return false;
    const file = await this.cache.localPath(manifest);
    if (!file) return false;
    return versionFiles(await readFile(file)).files.every((relative) => this.cache.info(this.key(relative)));
  }

  /** Brings `version` into the mirror; false when it cannot be (reads then stay on the endpoint). */
  sync(version: number): Promise<boolean> {
    if (this.synced.has(version)) return Promise.resolve(true);
    let running = this.syncing.get(version);
    if (!running) {
      running = this.load(version).finally(() => this.syncing.delete(version));
      this.syncing.set(version, running);
    }
    return running;
  }

  /**
   * Takes `version` out of the mirror at once, after a read of it failed: the file that failed
   * may be damaged on disk since it was checked. Every mirrored file is then checked again; a
   * corrupt one is dropped from the cache, and the next sync fetches it again.
   */
  distrust(version: number): Promise<void> {
    const keys = this.synced.get(version);
    if (keys) {
      // Checked whole again before any sync hands them out.
      for (const key of keys) this.cache.distrust(key);
      this.retire(version, 0);
    }
    return this.scrub();
  }

  /** Checks every mirrored file against its CRCs again; a version with a corrupt file leaves the mirror. */
  scrub(): Promise<void> {
    this.scrubbing ??= (async () => {
      const checked = new Map<string, boolean>();
      for (const [version, keys] of [...this.synced]) {
        for (const key of keys) {
          // A read that fails (a failing disk) fails the check.
          if (!checked.has(key)) checked.set(key, await this.cache.recheck(key).catch(() => false));
          if (checked.get(key)) continue;
          this.logger?.warn({ version, key }, 'a mirrored file failed its check; the version leaves the mirror');
          if (this.synced.has(version)) this.retire(version, 0);
          break;
        }
      }
    })()
      .catch((error: unknown) => this.logger?.warn({ err: error }, 'checking the mirrored files failed'))
      .finally(() => (this.scrubbing = null));
    return this.scrubbing;
  }

  /** Stops the scrub and the grace timers, and makes syncs in progress link nothing more. */
  close(): void {
    this.closed = true;
    clearInterval(this.scrubTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Resolves once the syncs in progress have ended (after {@link close}, as soon as their fills end). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.syncing.values()]);
  }

  private async load(version: number): Promise<boolean> {
    const started = Date.now();
    const manifest = manifestPath(version);
    const keys: string[] = [];
    const pin = (relative: string) => {
      const key = this.key(relative);
      this.cache.pin(key);
      keys.push(key);
      return key;
    };
    try {
      const manifestFile = await this.cache.localPath(pin(manifest));
      if (!manifestFile) throw new Error('its manifest is not in the cache');
      const { files, unlistedIndexDirs } = versionFiles(await readFile(manifestFile));
      if (unlistedIndexDirs.length > 0) throw new Error(`index files not listed in the manifest: ${unlistedIndexDirs}`);
      // All pinned before the first fill, so that a failure part-way unpins every one of them.
      const fileKeys = files.map(pin);
      const targets = await Promise.all(fileKeys.map((key) => this.limit(() => this.cache.localPath(key))));
      const missing = files.filter((_, i) => !targets[i]);
      if (missing.length > 0) throw new Error(`${missing.length} files do not fit the cache, such as ${missing[0]}`);
      if (this.closed) throw new Error('the mirror is closed');
      await Promise.all(files.map((file, i) => this.link(file, targets[i]!)));
      // Last: Lance finds the version only once everything it reads is in place.
      await this.link(manifest, manifestFile);
      this.synced.set(version, keys);
      this.logger?.debug({ version, files: files.length, ms: Date.now() - started }, 'version mirrored');
      this.retireOld();
      return true;
    } catch (error) {
      for (const key of keys) this.cache.unpin(key);
      if (this.closed) return false;
      // The versions mirrored before it hold their files pinned: a newer version that does not
      // fit beside them (after a compaction rewrote every file) must not be kept out for good.
      const older = [...this.synced.keys()].filter((v) => v < version);
      for (const old of older) this.retire(old, GRACE_MS);
      this.logger?.warn(
        { version, reason: (error as Error).message, retired: older },
        'version not mirrored; reads of it use the object store',
      );
      return false;
    }
  }

  private retireOld(): void {
    const versions = [...this.synced.keys()].sort((a, b) => a - b);
    for (const version of versions.slice(0, Math.max(0, versions.length - RETAINED))) this.retire(version, GRACE_MS);
  }

  /** Takes `version` out of the mirror; its files stay pinned `graceMs` more, for the reads still running on it. */
  private retire(version: number, graceMs: number): void {
    const keys = this.synced.get(version)!;
    this.synced.delete(version);
    this.onRetire(version);
    void unlink(this.file(manifestPath(version))).catch(() => {});
    const unpin = () => keys.forEach((key) => this.cache.unpin(key));
    if (graceMs === 0) return unpin();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      unpin();
    }, graceMs).unref();
    this.timers.add(timer);
  }

  private async link(relative: string, target: string): Promise<void> {
    const file = this.file(relative);
    await mkdir(path.dirname(file), { recursive: true });
    // A file shared by several versions is linked once; the target is a function of the key.
    await symlink(target, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }

  private file(relative: string): string {
    return path.join(this.root, this.datasetDir, relative);
  }

  private key(relative: string): string {
    return `${this.datasetKey}/${relative}`;
  }
}

/** True when no process has this pid (so a mirror directory named after it is left over). */
function processGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
