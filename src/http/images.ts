import type { RequestHandler } from 'express';
import { pipeline } from 'node:stream/promises';
import { respondStarting } from '../errors.js';
import { CONTENT_TYPES } from '../services/images/image-probe.js';
import {
  IMAGES_PREFIX,
  THUMBNAILS_PREFIX,
  parseImageKey,
  parseThumbnailKey,
  thumbnailKey,
} from '../services/images/image-key.js';
import type { Services } from '../services/index.js';

/** An object that GET serves forever under one URL, named by the hash of the image it shows. */
interface Immutable {
  key: string;
  id: string;
  contentType: string;
  /** Makes the object when it is missing; false when it cannot be had. */
  make?: (services: Services) => Promise<boolean>;
}

/** GET /images/{sha256}.{ext}: the bytes, immutable and cacheable forever (the key is their hash). */
export function serveImages(services: () => Services | undefined): RequestHandler {
  return serveImmutable(services, (name) => {
    const key = `${IMAGES_PREFIX}${name}`;
    const parsed = parseImageKey(key);
    const contentType = parsed && CONTENT_TYPES[parsed.ext];
    return parsed && contentType ? { key, id: parsed.id, contentType } : null;
  });
}

/**
 * GET /thumbnails/{sha256}.webp: the image's preview, cached the same way. An image stored
 * before thumbnails existed gets its thumbnail on the first request for it.
 */
export function serveThumbnails(services: () => Services | undefined): RequestHandler {
  return serveImmutable(services, (name) => {
    const id = parseThumbnailKey(`${THUMBNAILS_PREFIX}${name}`);
    if (!id) return null;
    return { key: thumbnailKey(id), id, contentType: 'image/webp', make: (s) => s.thumbnails.ensure(id) };
  });
}

/** A conditional request is answered 304 only for an object that exists (or can be made). */
function serveImmutable(
  services: () => Services | undefined,
  find: (name: string) => Immutable | null,
): RequestHandler {
  return async (req, res, next) => {
    const object = find(String(req.params.name));
    const notFound = () => void res.set('Cache-Control', 'no-store').status(404).json({ error: 'not found' });
    if (!object) return notFound();
    const ready = services();
    if (!ready) return respondStarting(res);
    const { key, contentType, make } = object;
    const etag = `"${object.id}"`;
    // Set only on the answers that carry the object: an error must not be kept for a year.
    const immutable = () => res.set({ ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable' });
    const made = async () => (make ? make(ready) : false);
    try {
      if (matches(req.headers['if-none-match'], etag)) {
        if (!((await ready.objects.exists(key)) || (await made()))) return notFound();
        return void immutable().status(304).end();
      }
      const body = (await ready.objects.get(key)) ?? ((await made()) ? await ready.objects.get(key) : null);
      if (!body) return notFound();
      immutable().set({ 'Content-Type': contentType, 'Content-Length': String(body.size) });
      await pipeline(body.body, res);
    } catch (error) {
      next(error);
    }
  };
}

/**
 * If-None-Match against the object's ETag (weak or strong, in a list, or `*`). Not `req.fresh`:
 * it answers "stale" to any request with Cache-Control: no-cache, which fetch() adds to every
 * conditional request, and these bytes never change.
 */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  return (ifNoneMatch ?? '').split(',').some((tag) => ['*', etag].includes(tag.trim().replace(/^W\//, '')));
}
