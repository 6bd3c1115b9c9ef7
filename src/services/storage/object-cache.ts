/**
 * A bounded local-disk cache of immutable objects (Lance data, index, deletion, manifest and
 * transaction files), whole objects filled on the first miss and served by range from disk.
 *
 * Why whole objects: an immutable object never changes under its key, so once it is on disk no
 * read of it ever needs the bucket again, and a warm query pays no request at all. A ranged
 * cache would keep paying first-byte latency on every new range. Big objects are fetched as
 * parallel ranged parts, because one connection to R2 moves ~60 MB/s and a compacted data file
 * at 100k rows is ~220 MB.
 *
 * Why it verifies on every read: a cached file can be truncated by a crash or changed on disk by
 * anything, and serving it would make Lance decode garbage. Each entry keeps its size and a CRC-32
 * per 16 KiB block (in a `.meta` file beside the `.data` file, with the upstream ETag). A read
 * checks the size and the CRCs of the blocks it covers (~9 µs a block); a mismatch drops the
 * entry and the caller fetches it again.
 *
 * Readers that open a data file themselves (the dataset mirror) get its path only once the whole
 * file was checked in this process, or it is sealed: once a file is known whole and synced to
 * disk, its meta records the data file's inode and change time (ctime). Any write to the file,
 * a truncation or a replacement changes those, and no program can set a ctime back, so a restart
 * trusts a file whose seal still matches instead of reading gigabytes again (2.9 GB took a second
 * of a cold start at a million rows). A crash before the seal leaves the file unsealed: checked.
 *
 * Layout: `<dir>/<sha256(key)>.data` + `.meta`, written to temp names and renamed, so a crash
 * leaves no half entry under a final name. The LRU order survives restarts through the meta
 * files' mtimes (touched at most once a minute per entry; the data file is never touched, as
 * that would change its ctime). The byte bound counts data and meta
 * files and space reserved for fills in progress; one process per directory is assumed for the
 * bound (several processes sharing one stay correct, each bounding only what it wrote).
 */
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import pLimit from 'p-limit';
import QuickLRU from 'quick-lru';

const BLOCK = 16 * 1024;
/** Part size of a fill; a multiple of BLOCK so that each part's blocks are checksummed alone. */
const PART = 8 * 1024 * 1024;
/** Parts one fill fetches at once. */
const PART_CONCURRENCY = 8;
/** Parts in flight across all fills: at most 16 × 8 MiB of fill buffers in memory at once. */
const PARTS_IN_FLIGHT = 16;
const TOUCH_EVERY_MS = 60_000;
/** Room a seal takes in a meta file: `,"sealed":"<dev>:<ino>:<size>:<ctime in ns>"`. */
const SEAL_BYTES = 96;
/** The names of entry files (`<sha256>.data`, `.meta`) and of fills' temp files. */
const ENTRY_FILE = /^[0-9a-f]{64}\./;
/**
 * Reads up to this size are served synchronously from a kept-open descriptor. A warm query makes
 * ~60 small reads at once (index pages, the refine step's candidate vectors, the hits' columns);
 * as async reads (open, stat, read, close through libuv's 4 threads) they queued for ~3 ms each,
 * while a synchronous pread of page-cached bytes takes microseconds.
 */
const SYNC_READ_MAX = 256 * 1024;
/** Descriptors kept open for small reads, least recently used closed first. */
const OPEN_FILES = 256;
/**
 * On a miss, a read of an object bigger than this is answered from the bucket at once while the
 * whole object fills in the background (index files apart, see {@link waitsForWhole}): a query
 * that needs 20 rows of a 2 GB data file must not wait for the 2 GB. Smaller objects are read
 * whole first, in one or two parts: about the time of the ranged read itself.
 */
const PASS_THROUGH_ABOVE = 2 * PART;
/** How many objects too big for the bound are remembered, so that reading them costs no fill attempt. */
const TOO_BIG_REMEMBERED = 1000;

/** What a GET or HEAD answer says about an object. */
export interface ObjectInfo {
  size: number;
  etag: string;
  lastModified: string;
}

/** One ranged read of the bucket: `total` is the object's size, `body` the bytes of [start, end]. */
export type RangeSource = (
  key: string,
  start: number,
  end: number,
  ifMatch?: string,
) => Promise<{ info: ObjectInfo; body: Buffer }>;

interface EntryMeta extends ObjectInfo {
  key: string;
  blockSize: number;
  /** base64 of the Uint32Array of block CRCs */
  crc: string;
  /** The data file's {@link identity} when it was last known whole and synced to disk. */
  sealed?: string;
}

interface Entry {
  name: string;
  meta: EntryMeta;
  crc: Uint32Array;
  bytes: number;
  touchedAt: number;
  /**
   * Every block checked against its CRC in this process, written by it, or sealed:
   * {@link localPath} may hand it out.
   */
  verified: boolean;
  /** The meta rewrite under way ({@link seal}, {@link distrust}); a drop waits for it. */
  rewriting?: Promise<void>;
}

export interface CacheStats {
  /** Reads (or {@link ObjectCache.localPath} lookups) of an entry that was in the cache already. */
  hits: number;
  /** Reads or lookups of a key the cache held no entry for: each fills one, joins a fill, or goes to the bucket. */
  misses: number;
  fills: number;
  corrupt: number;
  evictions: number;
  bytes: number;
  entries: number;
}

/** Thrown by a read whose entry failed a size or checksum check. */
class CorruptEntryError extends Error {}

export class ObjectCache {
  /** In LRU order: the first is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  /** Fills in progress: the entry once whole, and the object's size once its first part came (null if it failed). */
  private readonly filling = new Map<string, { entry: Promise<Entry | null>; size: Promise<number | null> }>();
  /** Entry files being removed, by entry name: a fill of the same key waits before it renames into place. */
  private readonly dropping = new Map<string, Promise<void>>();
  private readonly tooBig = new QuickLRU<string, true>({ maxSize: TOO_BIG_REMEMBERED });
  /** Keys that must not be evicted, with how many holders pinned each (see {@link pin}). */
  private readonly pins = new Map<string, number>();
  private readonly parts = pLimit(PARTS_IN_FLIGHT);
  /** Meta rewrites, one at a time: each seal syncs a data file to disk first. */
  private readonly sealing = pLimit(1);
  /** Open descriptors of data files, by entry name. */
  private readonly descriptors = new QuickLRU<string, number>({
    maxSize: OPEN_FILES,
    onEviction: (_name, fd) => closeSync(fd),
  });
  private used = 0;
  private reserved = 0;
  /** Set by {@link close}: no fill starts, and those in progress fetch no further part. */
  private closing = false;
  private readonly counters = { hits: 0, misses: 0, fills: 0, corrupt: 0, evictions: 0 };
  /** Told about each corrupt entry dropped (a log line). */
  onCorrupt: (key: string, reason: string) => void = () => {};

  private readonly source: RangeSource;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    source: RangeSource,
  ) {
    this.source = (...args) =>
      this.parts(() => {
        if (this.closing) throw new Error('the object cache is closing');
        return source(...args);
      });
  }

  /** Opens the cache directory, keeping every entry that is whole and dropping leftovers. */
  static async open(dir: string, maxBytes: number, source: RangeSource): Promise<ObjectCache> {
    await mkdir(dir, { recursive: true });
    const cache = new ObjectCache(dir, maxBytes, source);
    await cache.load();
    // A smaller bound than last time evicts down to it.
    if (await cache.reserve(0)) cache.reserved = 0;
    return cache;
  }

  stats(): CacheStats {
    return { ...this.counters, bytes: this.used + this.reserved, entries: this.entries.size };
  }

  /** What the cache knows about `key` without any I/O, or undefined when it holds no entry. */
  info(key: string): ObjectInfo | undefined {
    const meta = this.entries.get(key)?.meta;
    return meta && { size: meta.size, etag: meta.etag, lastModified: meta.lastModified };
  }

  /**
   * Bytes of `key` in the range `pick` chooses once the size is known (inclusive ends), filling
   * the entry on a miss. Null when the cache cannot answer (too big for the bound, a failed fill,
   * a range past the end, corrupt twice, a big object still filling): the caller then asks the
   * bucket itself.
   */
  async read(
    key: string,
    pick: (size: number) => { start: number; end: number } | null,
  ): Promise<{ info: ObjectInfo; start: number; end: number; body: Buffer } | null> {
    this.counters[this.entries.has(key) ? 'hits' : 'misses']++;
    if (!this.entries.has(key) && !waitsForWhole(key)) {
      // Null: the fill failed before its first part, or the object does not fit.
      const size = await this.fillFor(key).size;
      if (size === null || size > PASS_THROUGH_ABOVE) return null;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = await this.entry(key);
      const range = entry && pick(entry.meta.size);
      if (!entry || !range) return null;
      try {
        const body = await this.readRange(entry, range.start, range.end);
        this.touch(key, entry);
        return { info: entry.meta, ...range, body };
      } catch (error) {
        await this.dropCorrupt(key, entry, error);
      }
    }
    return null;
  }

  /** Every cached key, least recently used first. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /**
   * The path of `key`'s whole data file on disk, filling the entry on a miss, for readers that
   * open the file themselves (the dataset mirror). The whole file is checked against its CRCs once
   * per process first (a crash can truncate it, anything can change it): a corrupt entry is
   * dropped and filled again. Null when the cache cannot hold it. Pin the key before asking, or
   * an eviction may remove the file while it is in use.
   */
  async localPath(key: string): Promise<string | null> {
    this.counters[this.entries.has(key) ? 'hits' : 'misses']++;
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = await this.entry(key);
      if (!entry) return null;
      if (entry.verified || (await this.verify(key, entry))) return this.file(entry.name, 'data');
    }
    return null;
  }

  /**
   * Checks `key`'s whole file against its CRCs again, even if it was checked before, dropping it
   * when corrupt. False when it is corrupt or not in the cache.
   */
  async recheck(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    return entry !== undefined && (await this.verify(key, entry));
  }

  private async verify(key: string, entry: Entry): Promise<boolean> {
    try {
      const checked = await this.checkWhole(entry);
      entry.verified = true;
      this.seal(entry, checked);
      return true;
    } catch (error) {
      await this.dropCorrupt(key, entry, error);
      return false;
    }
  }

  /**
   * Reads `entry`'s whole data file through one descriptor into one buffer, part by part (a
   * compacted data file is gigabytes), checking its size and every block's CRC: 2.9 GB in about
   * a second, half the time of a ranged read per part. Returns the file's {@link identity} as the
   * check began.
   */
  private async checkWhole(entry: Entry): Promise<string> {
    const file = await open(this.file(entry.name, 'data')).catch(() => {
      throw new CorruptEntryError('data file missing');
    });
    try {
      const stats = await file.stat({ bigint: true });
      const size = Number(stats.size);
      if (size !== entry.meta.size) throw new CorruptEntryError(`size ${size}, expected ${entry.meta.size}`);
      const buffer = Buffer.allocUnsafe(Math.min(PART, size));
      for (let start = 0; start < size; start += PART) {
        const length = Math.min(PART, size - start);
        const { bytesRead } = await file.read(buffer, 0, length, start);
        if (bytesRead !== length) throw new CorruptEntryError(`short read at ${start}`);
        for (let offset = 0; offset < length; offset += BLOCK) {
          const block = (start + offset) / BLOCK;
          if (crc32(buffer.subarray(offset, Math.min(length, offset + BLOCK))) !== entry.crc[block]) {
            throw new CorruptEntryError(`checksum mismatch in block ${block}`);
          }
        }
      }
      return identity(stats);
    } finally {
      await file.close();
    }
  }

  /** Drops an entry a read found corrupt; rethrows any other error. */
  private async dropCorrupt(key: string, entry: Entry, error: unknown): Promise<void> {
    if (!(error instanceof CorruptEntryError)) throw error;
    this.counters.corrupt++;
    this.onCorrupt(key, error.message);
    await this.drop(key, entry);
  }

  /** Makes the next {@link localPath} of `key` check its whole file again. */
  distrust(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.verified = false;
    // A restart must check it too.
    if (entry.meta.sealed) this.rewriteMeta(entry, () => ({ ...entry.meta, sealed: undefined }));
  }

  /** Keeps `key` from eviction until as many {@link unpin} calls; a pinned entry can still be dropped as corrupt. */
  pin(key: string): void {
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
  }

  unpin(key: string): void {
    const count = this.pins.get(key) ?? 0;
    if (count <= 1) this.pins.delete(key);
    else this.pins.set(key, count - 1);
  }

  /**
   * Drops the entry of `key` if the bucket now holds a different object under it (another size
   * or ETag). Only an object deleted and written again can change, such as a version manifest of
   * a dataset made again under the same path.
   */
  async forgetIfChanged(key: string, listed: { size: number; etag: string }): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (entry.meta.size === listed.size && sameEtag(entry.meta.etag, listed.etag)) return false;
    await this.drop(key, entry);
    return true;
  }

  private entry(key: string): Promise<Entry | null> {
    const found = this.entries.get(key);
    if (found) return Promise.resolve(found);
    return this.fillFor(key).entry;
  }

  /** The fill of `key`, started unless one is in progress: single flight, concurrent misses share one download. */
  private fillFor(key: string): { entry: Promise<Entry | null>; size: Promise<number | null> } {
    if (this.tooBig.has(key) || this.closing) return { entry: Promise.resolve(null), size: Promise.resolve(null) };
    let fill = this.filling.get(key);
    if (!fill) {
      let sized: (size: number | null) => void = () => {};
      const size = new Promise<number | null>((resolve) => (sized = resolve));
      const entry = this.fill(key, sized)
        .catch(() => null)
        .finally(() => {
          sized(null); // a fill that failed before its first part
          this.filling.delete(key);
        });
      fill = { entry, size };
      this.filling.set(key, fill);
    }
    return fill;
  }

  private async readRange(entry: Entry, start: number, end: number): Promise<Buffer> {
    if (end < start) return Buffer.alloc(0);
    const from = Math.floor(start / BLOCK) * BLOCK;
    const to = Math.min(entry.meta.size, (Math.floor(end / BLOCK) + 1) * BLOCK);
    const buffer = Buffer.allocUnsafe(to - from);
    if (buffer.length <= SYNC_READ_MAX) this.readSmall(entry, buffer, from);
    else await this.readLarge(entry, buffer, from);
    for (let offset = 0; offset < buffer.length; offset += BLOCK) {
      const block = (from + offset) / BLOCK;
      if (crc32(buffer.subarray(offset, offset + BLOCK)) !== entry.crc[block]) {
        throw new CorruptEntryError(`checksum mismatch in block ${block}`);
      }
    }
    return buffer.subarray(start - from, end - from + 1);
  }

  private readSmall(entry: Entry, buffer: Buffer, from: number): void {
    let fd = this.descriptors.get(entry.name);
    // Kept open only while the entry is current: a drop that raced this read must not leave its
    // unlinked file open under the name a refill will use.
    let keep = true;
    if (fd === undefined) {
      try {
        fd = openSync(this.file(entry.name, 'data'), 'r');
      } catch {
        throw new CorruptEntryError('data file missing');
      }
      keep = this.entries.get(entry.meta.key) === entry;
      if (keep) this.descriptors.set(entry.name, fd);
    }
    try {
      const { size } = fstatSync(fd);
      if (size !== entry.meta.size) throw new CorruptEntryError(`size ${size}, expected ${entry.meta.size}`);
      if (readSync(fd, buffer, 0, buffer.length, from) !== buffer.length) {
        throw new CorruptEntryError(`short read at ${from}`);
      }
    } finally {
      if (!keep) closeSync(fd);
    }
  }

  private async readLarge(entry: Entry, buffer: Buffer, from: number): Promise<void> {
    const file = await open(this.file(entry.name, 'data')).catch(() => {
      throw new CorruptEntryError('data file missing');
    });
    try {
      const { size } = await file.stat();
      if (size !== entry.meta.size) throw new CorruptEntryError(`size ${size}, expected ${entry.meta.size}`);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, from);
      if (bytesRead !== buffer.length) throw new CorruptEntryError(`short read at ${from}`);
    } finally {
      await file.close();
    }
  }

  /** Downloads the whole object into a new entry; null when it does not fit the bound. */
  private async fill(key: string, sized: (size: number) => void = () => {}): Promise<Entry | null> {
    const first = await this.source(key, 0, PART - 1);
    const { info } = first;
    sized(info.size);
    const crc = new Uint32Array(Math.ceil(info.size / BLOCK));
    const metaOf = (): EntryMeta => ({
      key,
      ...info,
      blockSize: BLOCK,
      crc: Buffer.from(crc.buffer).toString('base64'),
    });
    // The CRCs are not known yet, but their base64 has its final length.
    const budget = entryBytes(metaOf());
    if (budget > this.maxBytes) this.tooBig.set(key, true);
    if (!(await this.reserve(budget))) return null;
    const name = createHash('sha256').update(key).digest('hex');
    const temp = path.join(this.dir, `${name}.${randomUUID()}.tmp`);
    try {
      await this.download(key, first, temp, crc);
      const meta = metaOf();
      const json = JSON.stringify(meta);
      // Meta first: a data file without its meta is a leftover that the next open removes.
      await writeFile(`${temp}.meta`, json);
      // An old entry of this key still being removed would remove the new files.
      await this.dropping.get(name);
      await rename(`${temp}.meta`, this.file(name, 'meta'));
      await rename(temp, this.file(name, 'data'));
      const written = identity(await stat(this.file(name, 'data'), { bigint: true }));
      const entry: Entry = { name, meta, crc, bytes: budget, touchedAt: Date.now(), verified: true };
      this.entries.set(key, entry);
      this.used += entry.bytes;
      this.counters.fills++;
      this.seal(entry, written);
      return entry;
    } finally {
      // A failed fill's temp files count until they are gone.
      await rm(temp, { force: true });
      await rm(`${temp}.meta`, { force: true });
      this.reserved -= budget;
    }
  }

  /** Writes the first part and fetches the rest in parallel parts, checksumming each block. */
  private async download(
    key: string,
    first: { info: ObjectInfo; body: Buffer },
    temp: string,
    crc: Uint32Array,
  ): Promise<void> {
    const { size, etag } = first.info;
    const file = await open(temp, 'w');
    try {
      const put = async (offset: number, body: Buffer) => {
        await file.write(body, 0, body.length, offset);
        for (let at = 0; at < body.length; at += BLOCK)
          crc[(offset + at) / BLOCK] = crc32(body.subarray(at, at + BLOCK));
      };
      if (first.body.length !== Math.min(size, PART) && first.body.length !== size) {
        throw new Error(`${key}: first part has ${first.body.length} bytes of ${size}`);
      }
      await put(0, first.body);
      let next = first.body.length;
      const worker = async () => {
        while (next < size) {
          const offset = next;
          next += PART;
          const end = Math.min(size, offset + PART) - 1;
          // If-Match: all parts must come from the same object, as the ETag of the first names it.
          const part = await this.source(key, offset, end, etag);
          if (part.body.length !== end - offset + 1) throw new Error(`${key}: short part at ${offset}`);
          await put(offset, part.body);
        }
      };
      await Promise.all(Array.from({ length: PART_CONCURRENCY }, worker));
    } finally {
      await file.close();
    }
  }

  /**
   * Makes room for `bytes` more by evicting least recently used entries, and reserves it; false
   * when it cannot fit. The check and the reservation happen in one synchronous step, so
   * concurrent fills never both take the last free bytes.
   */
  private async reserve(bytes: number): Promise<boolean> {
    // Evict nothing for a fill that could not fit even then: past what is reserved and pinned.
    if (this.reserved + this.pinnedBytes() + bytes > this.maxBytes) return false;
    for (;;) {
      if (this.used + this.reserved + bytes <= this.maxBytes) {
        this.reserved += bytes;
        return true;
      }
      const victim = this.leastRecentlyUsedUnpinned();
      if (!victim) return false;
      this.counters.evictions++;
      await this.drop(...victim);
    }
  }

  private pinnedBytes(): number {
    let bytes = 0;
    for (const key of this.pins.keys()) bytes += this.entries.get(key)?.bytes ?? 0;
    return bytes;
  }

  private leastRecentlyUsedUnpinned(): [string, Entry] | undefined {
    for (const candidate of this.entries) if (!this.pins.has(candidate[0])) return candidate;
    return undefined;
  }

  private async drop(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) !== entry) return; // another reader dropped it already
    this.entries.delete(key);
    this.closeDescriptor(entry.name);
    // Readers that opened the data file before the unlink finish reading it (POSIX). The bytes
    // count until the files are gone, so the directory never holds more than the bound.
    const removed = (async () => {
      await entry.rewriting; // or it could put the meta back
      await rm(this.file(entry.name, 'meta'), { force: true });
      await rm(this.file(entry.name, 'data'), { force: true });
    })();
    this.dropping.set(entry.name, removed);
    try {
      await removed;
    } finally {
      if (this.dropping.get(entry.name) === removed) this.dropping.delete(entry.name);
      this.used -= entry.bytes;
    }
  }

  private closeDescriptor(name: string): void {
    const fd = this.descriptors.peek(name);
    if (fd === undefined) return;
    this.descriptors.delete(name);
    closeSync(fd);
  }

  /**
   * Closes the descriptors kept open and ends the fills in progress: they fetch no further part
   * (a data file is gigabytes), fail, and remove their temp files. Resolves once they have; the
   * entries already whole stay readable.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const name of [...this.descriptors.keys()]) this.closeDescriptor(name);
    await Promise.allSettled([...this.filling.values()].map((fill) => fill.entry));
    await Promise.allSettled([...this.entries.values()].map((entry) => entry.rewriting));
  }

  private touch(key: string, entry: Entry): void {
    // A read that began before an eviction must not bring the evicted entry back.
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    const now = Date.now();
    if (now - entry.touchedAt < TOUCH_EVERY_MS) return;
    entry.touchedAt = now;
    const seconds = now / 1000;
    utimes(this.file(entry.name, 'meta'), seconds, seconds).catch(() => {});
  }

  /**
   * Syncs `entry`'s data file to disk and records its identity in the meta, in the background,
   * one entry at a time. `whole` is the file's identity when it was known whole (just written,
   * or as its check began): a file changed since is left unsealed, and unverified.
   */
  private seal(entry: Entry, whole: string): void {
    if (entry.meta.sealed === whole) return;
    this.rewriteMeta(entry, async () => {
      const file = await open(this.file(entry.name, 'data'));
      try {
        await file.sync();
        // Not after a distrust (which found the entry unsealed), nor for a file changed since.
        if (entry.verified && identity(await file.stat({ bigint: true })) === whole)
          return { ...entry.meta, sealed: whole };
        entry.verified = false;
        return { ...entry.meta, sealed: undefined };
      } finally {
        await file.close();
      }
    });
  }

  /**
   * Replaces `entry`'s meta file with what `next` makes of it, unless the entry is dropped (or
   * the cache closed) before its turn. One queue, first in first out: a rewrite never overtakes
   * an earlier one of the same entry. A drop waits only for a rewrite that has begun.
   */
  private rewriteMeta(entry: Entry, next: () => EntryMeta | Promise<EntryMeta>): void {
    void this.sealing(async () => {
      if (this.closing || this.entries.get(entry.meta.key) !== entry) return;
      const rewrite = (async () => {
        const meta = await next();
        const temp = `${this.file(entry.name, 'meta')}.${randomUUID()}.tmp`;
        try {
          await writeFile(temp, JSON.stringify(meta));
          await rename(temp, this.file(entry.name, 'meta'));
          entry.meta = meta;
        } finally {
          await rm(temp, { force: true });
        }
      })().catch(() => {}); // unsealed: the next start checks the file whole
      entry.rewriting = rewrite;
      await rewrite;
      entry.rewriting = undefined;
    });
  }

  private file(name: string, kind: 'data' | 'meta'): string {
    return path.join(this.dir, `${name}.${kind}`);
  }

  /** Reads every entry's meta, keeps the whole ones in mtime (LRU) order, removes the rest. */
  private async load(): Promise<void> {
    const names = await readdir(this.dir);
    const found: Array<{ entry: Entry; mtime: number }> = [];
    const keep = new Set<string>();
    for (const meta of names.filter((n) => n.endsWith('.meta'))) {
      const name = meta.slice(0, -'.meta'.length);
      const loaded = await this.loadEntry(name);
      if (!loaded) continue;
      found.push(loaded);
      keep.add(`${name}.meta`).add(`${name}.data`);
    }
    // Only the cache's own files: the directory also holds the dataset mirror's.
    const leftovers = names.filter((n) => ENTRY_FILE.test(n) && !keep.has(n));
    for (const leftover of leftovers) await rm(path.join(this.dir, leftover), { force: true });
    for (const { entry } of found.sort((a, b) => a.mtime - b.mtime)) {
      this.entries.set(entry.meta.key, entry);
      this.used += entry.bytes;
    }
  }

  private async loadEntry(name: string): Promise<{ entry: Entry; mtime: number } | null> {
    try {
      const json = await readFile(this.file(name, 'meta'), 'utf8');
      const meta = JSON.parse(json) as EntryMeta;
      const data = await stat(this.file(name, 'data'), { bigint: true });
      const { mtimeMs } = await stat(this.file(name, 'meta'));
      const raw = Buffer.from(meta.crc, 'base64');
      const crc = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const whole =
        Number(data.size) === meta.size && meta.blockSize === BLOCK && crc.length === Math.ceil(meta.size / BLOCK);
      if (!whole || createHash('sha256').update(meta.key).digest('hex') !== name) return null;
      const bytes = entryBytes(meta);
      const verified = meta.sealed === identity(data);
      const entry = { name, meta, crc, bytes, touchedAt: mtimeMs, verified };
      return { entry, mtime: mtimeMs };
    } catch {
      return null;
    }
  }
}

/**
 * The bytes an entry takes on disk: its data, and its meta with room for a seal, twice (a seal
 * writes the new meta beside the old one before it replaces it).
 */
function entryBytes(meta: EntryMeta): number {
  return meta.size + 2 * (Buffer.byteLength(JSON.stringify({ ...meta, sealed: undefined })) + SEAL_BYTES);
}

/** What changes when anything writes, truncates or replaces a file (see the seal, above). */
function identity(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.ctimeNs}`;
}

/** ETags compared without their quotes, which listings and GET answers write differently. */
function sameEtag(a: string, b: string): boolean {
  const bare = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');
  return bare(a) === bare(b);
}

/**
 * Index files are read whole (Lance loads an index into its cache at once), so a reader waits for
 * the fill rather than reading the same bytes from the bucket twice.
 */
function waitsForWhole(key: string): boolean {
  return key.includes('/_indices/');
}
