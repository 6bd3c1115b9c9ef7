/**
 * Where an image's bytes live, `images/{sha256}.{ext}`, and its preview, `thumbnails/{sha256}.webp`:
 * the one naming rule for image objects.
 */

export const IMAGES_PREFIX = 'images/';

const KEY = /^images\/([0-9a-f]{64})\.([a-z0-9]+)$/;

export function imageKey(id: string, ext: string): string {
  return `${IMAGES_PREFIX}${id}.${ext}`;
}

/** The id and extension of an image key, or null for anything else (including `..` tricks). */
export function parseImageKey(key: string): { id: string; ext: string } | null {
  const match = KEY.exec(key);
  return match ? { id: match[1]!, ext: match[2]! } : null;
}

export const THUMBNAILS_PREFIX = 'thumbnails/';

const THUMBNAIL_KEY = /^thumbnails\/([0-9a-f]{64})\.webp$/;

export function thumbnailKey(id: string): string {
  return `${THUMBNAILS_PREFIX}${id}.webp`;
}

/** The id of a thumbnail key, or null for anything else. */
export function parseThumbnailKey(key: string): string | null {
  return THUMBNAIL_KEY.exec(key)?.[1] ?? null;
}
