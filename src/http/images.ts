import type { RequestHandler } from 'express';
import { pipeline } from 'node:stream/promises';
import { respondStarting } from '../errors.js';
import { CONTENT_TYPES } from '../services/images/image-probe.js';
import { parseImageKey } from '../services/images/image-key.js';
import type { Services } from '../services/index.js';

/**
 * GET /images/{sha256}.{ext}: the bytes, immutable and cacheable forever (the key is their
 * hash). A conditional request is answered 304 only for an image that exists.
 */
export function serveImages(services: () => Services | undefined): RequestHandler {
  return async (req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    const key = `images/${String(req.params.name)}`;
    const parsed = parseImageKey(key);
    const contentType = parsed && CONTENT_TYPES[parsed.ext];
    const notFound = () => {
      res.removeHeader('ETag');
      res.set('Cache-Control', 'no-store').status(404).json({ error: 'not found' });
    };
    if (!parsed || !contentType) return notFound();
    const ready = services();
    if (!ready) return respondStarting(res);
    const etag = `"${parsed.id}"`;
    res.set({ ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable' });
    try {
      if (matches(req.headers['if-none-match'], etag))
        return (await ready.objects.exists(key)) ? void res.status(304).end() : notFound();
      const object = await ready.objects.get(key);
      if (!object) return notFound();
      res.set({ 'Content-Type': contentType, 'Content-Length': String(object.size) });
      await pipeline(object.body, res);
    } catch (error) {
      next(error);
    }
  };
}

/**
 * If-None-Match against the image's ETag (weak or strong, in a list, or `*`). Not `req.fresh`:
 * it answers "stale" to any request with Cache-Control: no-cache, which fetch() adds to every
 * conditional request, and these bytes never change.
 */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  return (ifNoneMatch ?? '').split(',').some((tag) => ['*', etag].includes(tag.trim().replace(/^W\//, '')));
}
