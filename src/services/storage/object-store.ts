import { createReadStream } from 'node:fs';
import { link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AlreadyInStorageError, NotInStorageError, storageFailure, throwStorageFailure } from './storage-failures.js';

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
  /**
   * What interrupted writes left under prefix (by a crash, or a full disk): files that are no
   * object, which {@link delete} removes by the key given. None on S3, where a PUT is atomic.
   */
  leftovers(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
}

/** A write's temp file: `<key>.<uuid>.tmp`, renamed to the key once whole. */
const TEMP_FILE = /\.[0-9a-f-]{36}\.tmp$/;

/** Objects as files under a directory. */
export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.resolve(key);
    // Write then rename, so a crash mid-write never leaves a truncated file under the final key.
    const temp = `${target}.${randomUUID()}.tmp`;
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, target);
    } catch (error) {
      // A full disk fails the write part-way: what it wrote would hold the space until a reclaim.
      await rm(temp, { force: true }).catch(() => {});
      throw storageFailure(error);
    }
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.resolve(key);
    // A hard link fails when the target exists, and makes the whole file appear at once, where an
    // exclusive open (`wx`) would let a reader see it half written.
    const temp = `${target}.${randomUUID()}.tmp`;
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(temp, bytes);
      await link(temp, target);
      return true;
    } catch (error) {
      const failure = storageFailure(error);
      if (failure instanceof AlreadyInStorageError) return false;
      throw failure;
    } finally {
      await rm(temp, { force: true }).catch(() => {});
    }
  }

  async get(key: string): Promise<ObjectBody | null> {
    const file = this.resolve(key);
    const info = await this.stat(file);
    if (!info?.isFile()) return null;
    return { body: createReadStream(file), size: info.size };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(this.resolve(key)))?.isFile() ?? false;
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.files(prefix, (name) => !TEMP_FILE.test(name));
  }

  leftovers(prefix: string): AsyncIterable<ObjectInfo> {
    return this.files(prefix, (name) => TEMP_FILE.test(name));
  }

  async delete(key: string): Promise<void> {
    await rm(this.resolve(key), { force: true }).catch(throwStorageFailure);
  }

  /** The files under prefix whose names pass `wanted`; none when the prefix's directory does not exist (yet). */
  private async *files(prefix: string, wanted: (name: string) => boolean): AsyncIterable<ObjectInfo> {
    const base = this.resolve(prefix);
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch((error: unknown) => {
      const failure = storageFailure(error);
      if (failure instanceof NotInStorageError) return [];
      throw failure;
    });
    for (const entry of entries) {
      if (!entry.isFile() || !wanted(entry.name)) continue;
      const full = path.join(entry.parentPath, entry.name);
      const info = await this.stat(full); // null: removed since the listing
      if (!info) continue;
      const key = path.relative(this.root, full).split(path.sep).join('/');
      yield { key, size: info.size, lastModified: info.mtime };
    }
  }

  /** The file's stat, or null when there is no such file. */
  private stat(file: string) {
    return stat(file).catch((error: unknown) => {
      const failure = storageFailure(error);
      if (failure instanceof NotInStorageError) return null;
      throw failure;
    });
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, key);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) {
      throw new Error(`object key escapes the storage root: ${key}`);
    }
    return full;
  }
}
