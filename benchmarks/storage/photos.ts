import type { IncomingFile } from '../../src/services/images/uploads.js';
import { loadPhotos, type Photo } from '../lib/photos.js';

/**
 * An endless supply of distinct real photos. The service stores an image once per content hash,
 * and one target's run needs several hundred uploads while the shared set has ~70 JPEG photos,
 * so each copy gets a unique JPEG comment (COM segment) right after the start-of-image marker:
 * same pixels, same decoding cost, about the same size, but new bytes and so a new image.
 */
export class PhotoSupply {
  private next = 0;

  private constructor(private readonly photos: Photo[]) {}

  static async load(): Promise<PhotoSupply> {
    // JPEG only: the comment trick needs a JPEG, and photos are what cameras and phones upload.
    const photos = (await loadPhotos('everyday-photos')).filter((photo) => photo.contentType === 'image/jpeg');
    if (photos.length === 0) throw new Error('no JPEG photos in shared/data/everyday-photos/images');
    return new PhotoSupply(photos);
  }

  /** Mean size of the photos handed out, for the report. */
  get meanBytes(): number {
    return this.photos.reduce((sum, photo) => sum + photo.bytes.length, 0) / this.photos.length;
  }

  get count(): number {
    return this.photos.length;
  }

  /** `n` files never handed out before (in this process). */
  take(n: number): IncomingFile[] {
    return Array.from({ length: n }, () => {
      const serial = this.next++;
      const photo = this.photos[serial % this.photos.length]!;
      return { bytes: withComment(photo.bytes, `bench-storage ${serial}`), filename: photo.filename };
    });
  }
}

/** The JPEG with a COM segment (FF FE, 2-byte big-endian length incl. itself, text) after SOI. */
export function withComment(jpeg: Uint8Array, text: string): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)');
  const comment = Buffer.from(text, 'latin1');
  const segment = Buffer.alloc(4 + comment.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(comment.length + 2, 2);
  comment.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}
