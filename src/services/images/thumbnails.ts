import type { LimitFunction } from 'p-limit';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { ImageCatalog } from '../catalog/catalog.js';
import type { ObjectStore } from '../storage/object-store.js';
import { thumbnailKey } from './image-key.js';
import { DECODING } from './image-probe.js';

/** Long side of a thumbnail, in pixels: sharp in a results grid on a high-density screen. */
export const THUMBNAIL_SIDE = 320;

/**
 * Small WebP previews, so that a results grid never downloads the originals. Each is made when
 * its image is uploaded and stored content-addressed beside it; images stored before thumbnails
 * existed get theirs on first request. Both decode within the process-wide decode limit.
 */
export class ThumbnailService {
  /** Thumbnails being made on request right now, so that concurrent requests make one. */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly catalog: ImageCatalog,
    private readonly decoding: LimitFunction,
    /** MAX_IMAGE_PIXELS: also for originals that reached the store some other way. */
    private readonly maxPixels: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores the thumbnail of freshly uploaded bytes. A failure is logged, not thrown: the image is
   * stored all the same, and its thumbnail is made on first request instead.
   */
  async store(id: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.objects.put(
        thumbnailKey(id),
        await this.decoding(() => thumbnail(bytes, this.maxPixels)),
        'image/webp',
      );
    } catch (error) {
      this.logger.warn({ err: error, id }, 'thumbnail not made at upload; it will be made on first request');
    }
  }

  /**
   * Makes the thumbnail of a stored image that has none; false when the latest version has no such
   * image (one that only older versions hold, and that predates thumbnails, gets none).
   */
  ensure(id: string): Promise<boolean> {
    let making = this.inFlight.get(id);
    if (!making) {
      making = this.make(id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, making);
    }
    return making;
  }

  private async make(id: string): Promise<boolean> {
    // The catalog knows the original's key (its format): one indexed read, where probing each
    // format would cost the bucket a request per format for every unknown id asked for.
    const key = (await this.catalog.get([id], ['key'])).get(id)?.key;
    if (!key) return false;
    // The original is read inside the decode slot too: requests for many old images at once
    // hold at most DECODE_CONCURRENCY originals in memory, not one each.
    const made = await this.decoding(async () => {
      const original = await this.objects.get(key);
      return original && thumbnail(Buffer.concat(await original.body.toArray()), this.maxPixels);
    });
    if (!made) return false; // the original is gone
    await this.objects.put(thumbnailKey(id), made, 'image/webp');
    return true;
  }
}

/**
 * Upright, within THUMBNAIL_SIDE on its long side (never enlarged), first frame of an animation;
 * decoded with the probe's policy, so that an accepted upload always has a thumbnail.
 */
function thumbnail(bytes: Uint8Array, maxPixels: number): Promise<Buffer> {
  return sharp(bytes, { ...DECODING, limitInputPixels: maxPixels })
    .autoOrient()
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}
