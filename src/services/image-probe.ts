import { createHash } from 'node:crypto';
import sharp from 'sharp';

/** What the service knows about an upload before it stores anything. */
export interface ProbedImage {
  id: string;
  ext: string;
  contentType: string;
  width: number;
  height: number;
  size: number;
}

/** Why an upload was refused; the message is shown to the client. */
export class InvalidImageError extends Error {}

const FORMATS: Record<string, { ext: string; contentType: string }> = {
  jpeg: { ext: 'jpg', contentType: 'image/jpeg' },
  png: { ext: 'png', contentType: 'image/png' },
  webp: { ext: 'webp', contentType: 'image/webp' },
  gif: { ext: 'gif', contentType: 'image/gif' },
  heif: { ext: 'avif', contentType: 'image/avif' },
  tiff: { ext: 'tiff', contentType: 'image/tiff' },
};

export const CONTENT_TYPES: Record<string, string> = Object.fromEntries(
  Object.values(FORMATS).map((f) => [f.ext, f.contentType]),
);

export interface ProbeLimits {
  maxBytes: number;
  maxPixels: number;
}

/**
 * Hashes the bytes, detects the format from them (never from the client's name or type) and
 * decodes the whole image once, so a corrupt or truncated file is refused before anything is
 * written. `limitInputPixels` stops decompression bombs before sharp allocates their pixels.
 */
export async function probeImage(bytes: Uint8Array, limits: ProbeLimits): Promise<ProbedImage> {
  if (bytes.byteLength === 0) throw new InvalidImageError('the file is empty');
  if (bytes.byteLength > limits.maxBytes) {
    throw new InvalidImageError(`the file is ${bytes.byteLength} bytes, over the limit of ${limits.maxBytes}`);
  }
  const image = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'truncated' });
  const meta = await image.metadata().catch(() => {
    throw new InvalidImageError('the file is not an image in a supported format (jpeg, png, webp, gif, avif, tiff)');
  });
  const format = meta.format === 'heif' && meta.compression !== 'av1' ? undefined : FORMATS[meta.format ?? ''];
  if (!format || !meta.width || !meta.height) {
    throw new InvalidImageError(`unsupported image format: ${meta.format ?? 'unknown'}`);
  }
  if (meta.width * meta.height > limits.maxPixels) {
    throw new InvalidImageError(
      `the image has ${meta.width}x${meta.height} pixels, over the limit of ${limits.maxPixels}`,
    );
  }
  await image.stats().catch((error: Error) => {
    throw new InvalidImageError(`the image is corrupt or truncated: ${error.message}`);
  });
  const id = createHash('sha256').update(bytes).digest('hex');
  return { id, ...format, width: meta.width, height: meta.height, size: bytes.byteLength };
}
