import sharp from 'sharp';
import type { Logger } from 'pino';
import type { ImageCatalog } from '../catalog/catalog.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DecodeBudget } from './decode-budget.js';
import { worstDecodeCost } from './decode-cost.js';
import { parseImageKey, thumbnailKey } from './image-key.js';
import {
  DECODING,
  formatOfExtension,
  InvalidImageError,
  readHeader,
  type ImageHeader,
  type ProbeLimits,
} from './image-probe.js';

/** Long side of a thumbnail, in pixels: sharp in a results grid on a high-density screen. */
export const THUMBNAIL_SIDE = 320;

/**
 * Small WebP previews, so that a results grid never downloads the originals. Each is made when
 * its image is uploaded and stored content-addressed beside it; images stored before thumbnails
 * existed get theirs on first request. Both decode within the process-wide decode budget.
 */
export class ThumbnailService {
  /** Thumbnails being made on request right now, so that concurrent requests make one. */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly catalog: ImageCatalog,
    private readonly decoding: DecodeBudget,
    /** Also for originals that reached the store some other way. */
    private readonly limits: ProbeLimits,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores the thumbnail of freshly uploaded bytes. A failure is logged, not thrown: the image is
   * stored all the same, and its thumbnail is made on first request instead.
   */
  async store(id: string, header: ImageHeader): Promise<void> {
    try {
      await this.objects.put(
        thumbnailKey(id),
        await this.decoding.run(header.cost, () => thumbnail(header, this.limits.maxPixels)),
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
    const row = (await this.catalog.get([id], ['key', 'size', 'width', 'height'])).get(id);
    const key = row?.key;
    if (!key) return false;
    // The original is read inside its share of the decode budget too, so that requests for many
    // old images at once do not each hold one. Its header is not known before it is read: the
    // share is what the dearest variant of its format and size would cost.
    const format = formatOfExtension(parseImageKey(key)?.ext ?? '') ?? 'unknown';
    const share = Math.min(
      this.limits.maxDecodeBytes,
      (row.size ?? 0) + worstDecodeCost(format, row.width ?? 0, row.height ?? 0),
    );
    const made = await this.decoding.run(share, async () => {
      const original = await this.objects.get(key);
      if (!original) return null;
      const header = await readHeader(Buffer.concat(await original.body.toArray()), this.limits);
      if (header.cost > share) {
        throw new InvalidImageError(`the original is not the ${row.width}×${row.height} ${format} its row says`);
      }
      return thumbnail(header, this.limits.maxPixels);
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
export function thumbnail({ decodable }: ImageHeader, maxPixels: number): Promise<Buffer> {
  return sharp(decodable, { ...DECODING, limitInputPixels: maxPixels })
    .autoOrient()
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}
