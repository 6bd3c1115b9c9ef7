import { createReadStream } from 'node:fs';
import { link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** One object listed under a prefix. */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** An object opened for reading. */
export interface ObjectBody {
  body: Readable;
  size: number;
}

/**
 * Where image bytes live: local disk or an S3-compatible bucket. Keys are relative to the
 * storage root (`images/{sha256}.{ext}`); the Lance dataset sits beside them.
 */
export interface ObjectStore {
  /** Writes the whole object. Readers never see a partial one. */
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /**
   * Writes the whole object unless one exists under the key (S3's `If-None-Match: *`): of several
   * writers racing for one key, at most one gets true. False when one existed, or lost the race.
   */
  putIfAbsent(key: string, bytes: Uint8Array, contentType: string): Promise<boolean>;
  /** Opens an object for streaming, or null when it does not exist. */
  get(key: string): Promise<ObjectBody | null>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with prefix, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
}

/** Objects as files under a directory. */
export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.resolve(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write then rename, so a crash mid-write never leaves a truncated file under the final key.
    const temp = `${target}.${randomUUID()}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, target);
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.resolve(key);
    await mkdir(path.dirname(target), { recursive: true });
    // A hard link fails when the target exists, and makes the whole file appear at once, where an
    // exclusive open (`wx`) would let a reader see it half written.
    const temp = `${target}.${randomUUID()}.tmp`;
    await writeFile(temp, bytes);
    try {
      await link(temp, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async get(key: string): Promise<ObjectBody | null> {
    const file = this.resolve(key);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return null;
    return { body: createReadStream(file), size: info.size };
  }

  async exists(key: string): Promise<boolean> {
    return (await stat(this.resolve(key)).catch(() => null))?.isFile() ?? false;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = this.resolve(prefix);
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const info = await stat(full).catch(() => null);
      if (!info) continue;
      const key = path.relative(this.root, full).split(path.sep).join('/');
      yield { key, size: info.size, lastModified: info.mtime };
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.resolve(key), { force: true });
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) {
      throw new Error(`object key escapes the storage root: ${key}`);
    }
    return full;
  }
}
