import type { ImageCatalog } from '../catalog/catalog.js';
import { IMAGES_PREFIX, THUMBNAILS_PREFIX, parseImageKey, parseThumbnailKey } from './image-key.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';

export interface ReclaimReport {
  /** Image objects looked at. */
  scanned: number;
  /** Versions whose ids were read. */
  versions: number;
  /** Objects no version refers to, older than the grace period. */
  orphans: ObjectInfo[];
  /** Bytes those orphans take (freed unless it was a dry run). */
  bytes: number;
  /** Temp files of interrupted writes (see {@link removeLeftovers}). */
  leftovers: ObjectInfo[];
  deleted: boolean;
}

/**
 * Temp files younger than this are left alone whatever the grace period: they may be a write in
 * flight (a write touches its file every few milliseconds, so one this old has stopped).
 */
export const LEFTOVER_MIN_AGE_MS = 15 * 60_000;

/** The image id an object under images/ or thumbnails/ belongs to. */
const idOf = (key: string) => parseImageKey(key)?.id ?? parseThumbnailKey(key) ?? undefined;

/**
 * Finds image objects (originals and thumbnails) that no version of the dataset refers to, and deletes them. They are left
 * by a crash (or a failed commit) between an image's PUT and its row's commit; they do no harm,
 * but take space. Objects younger than the grace period are kept: they may belong to an upload
 * that is between the two steps right now.
 */
export class ImageReclaimer {
  constructor(
    private readonly objects: ObjectStore,
    private readonly catalog: ImageCatalog,
  ) {}

  async reclaim(options: { graceMs: number; dryRun: boolean }): Promise<ReclaimReport> {
    const cutoff = Date.now() - options.graceMs;
    // List first: an object written after the listing is not considered, whatever the versions say.
    const candidates: ObjectInfo[] = [];
    for (const prefix of [IMAGES_PREFIX, THUMBNAILS_PREFIX]) {
      for await (const object of this.objects.list(prefix)) candidates.push(object);
    }
    const { ids, versions } = await this.referencedIds();
    const orphans = candidates.filter((object) => {
      const id = idOf(object.key);
      return id !== undefined && !ids.has(id) && object.lastModified.getTime() <= cutoff;
    });
    if (!options.dryRun) await Promise.all(orphans.map((object) => this.objects.delete(object.key)));
    const bytes = orphans.reduce((sum, object) => sum + object.size, 0);
    const leftovers = await removeLeftovers(this.objects, {
      olderThanMs: Math.max(options.graceMs, LEFTOVER_MIN_AGE_MS),
      dryRun: options.dryRun,
    });
    return { scanned: candidates.length, versions, orphans, bytes, leftovers, deleted: !options.dryRun };
  }

  /** Ids in any version: deleted rows stay readable in older versions, and so must their bytes. */
  private async referencedIds(): Promise<{ ids: Set<string>; versions: number }> {
    const ids = new Set<string>();
    const versions = await this.catalog.versions();
    for (const { version } of versions) {
      for await (const batch of this.catalog.idsAt(version)) for (const id of batch) ids.add(id);
    }
    return { ids, versions: versions.length };
  }
}

/**
 * Removes (or, in a dry run, only finds) the temp files that writes of images and thumbnails left
 * when they were cut short by a crash, or by a full disk, over `olderThanMs` ago. The service does
 * it at start, and the reclaimer each time it runs.
 */
export async function removeLeftovers(
  objects: ObjectStore,
  options: { olderThanMs: number; dryRun: boolean },
): Promise<ObjectInfo[]> {
  const cutoff = Date.now() - options.olderThanMs;
  const stale: ObjectInfo[] = [];
  for (const prefix of [IMAGES_PREFIX, THUMBNAILS_PREFIX]) {
    for await (const file of objects.leftovers(prefix)) if (file.lastModified.getTime() <= cutoff) stale.push(file);
  }
  if (!options.dryRun) for (const file of stale) await objects.delete(file.key);
  return stale;
}
