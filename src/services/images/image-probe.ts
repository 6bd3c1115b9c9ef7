import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { modelPixels, type ImageInput } from './image-decode.js';

/** What an upload is, read from its bytes by one decode. */
export interface ProbedImage {
  ext: string;
  contentType: string;
  /** As displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  /** The image encoder's input (see image-decode.ts). */
  pixels: Float32Array;
}

/** Why an upload was refused; the message is shown to the client. */
export class InvalidImageError extends Error {}

/** The formats accepted, by sharp's name: the stored extension, the MIME type, and the file names they go by. */
const FORMATS: Record<string, { ext: string; contentType: string; fileExtensions: string[] }> = {
  jpeg: { ext: 'jpg', contentType: 'image/jpeg', fileExtensions: ['jpg', 'jpeg'] },
  png: { ext: 'png', contentType: 'image/png', fileExtensions: ['png'] },
  webp: { ext: 'webp', contentType: 'image/webp', fileExtensions: ['webp'] },
  gif: { ext: 'gif', contentType: 'image/gif', fileExtensions: ['gif'] },
  heif: { ext: 'avif', contentType: 'image/avif', fileExtensions: ['avif'] },
  tiff: { ext: 'tiff', contentType: 'image/tiff', fileExtensions: ['tiff', 'tif'] },
};

export const CONTENT_TYPES: Record<string, string> = Object.fromEntries(
  Object.values(FORMATS).map((f) => [f.ext, f.contentType]),
);

/** The MIME types of the accepted formats: every stored image has one of them. */
export const ACCEPTED_CONTENT_TYPES: ReadonlySet<string> = new Set(Object.values(CONTENT_TYPES));

/**
 * Lowercase file extensions of the accepted formats, for clients that pick images out of a folder
 * by name. The service itself never trusts a name: it detects the format from the bytes.
 */
export const IMAGE_FILE_EXTENSIONS: ReadonlySet<string> = new Set(
  Object.values(FORMATS).flatMap((f) => f.fileExtensions),
);

export interface ProbeLimits {
  maxPixels: number;
}

/**
 * The one decoding policy, for the decode of an upload and for every later decode of the same
 * bytes (its thumbnail). `failOn: 'error'` refuses truncated data and damage the decoder reports
 * as an error (a PNG chunk with a bad CRC), and lets mere warnings pass (stray bytes between a
 * JPEG's markers): a file accepted here must not fail its thumbnail on the same bytes.
 */
export const DECODING = { failOn: 'error', sequentialRead: true } as const;

/**
 * The content address of the bytes. Their size was bounded by the multipart layer, which is
 * where MAX_UPLOAD_BYTES is checked.
 */
export function contentId(bytes: Uint8Array): string {
  if (bytes.byteLength === 0) throw new InvalidImageError('the file is empty');
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Detects the format from the bytes (never from the client's name or type), checks the pixel
 * count from the header before any pixel is decoded, then decodes once, straight into the
 * model's input. A file that cannot be decoded is refused here; only its thumbnail decodes it
 * again, under the same {@link DECODING} policy, so it cannot fail there instead.
 */
export async function probeImage(bytes: Uint8Array, limits: ProbeLimits, input: ImageInput): Promise<ProbedImage> {
  // The pixel limit is checked below from the header instead of by `limitInputPixels`, whose
  // refusal reads like any unreadable file.
  const image = sharp(bytes, { ...DECODING, limitInputPixels: false });
  const meta = await image.metadata().catch(() => {
    throw new InvalidImageError('the file is not an image in a supported format (jpeg, png, webp, gif, avif, tiff)');
  });
  const format = meta.format === 'heif' && meta.compression !== 'av1' ? undefined : FORMATS[meta.format ?? ''];
  if (!format || !meta.width || !meta.height) {
    throw new InvalidImageError(`unsupported image format: ${meta.format ?? 'unknown'}`);
  }
  if (meta.width * meta.height > limits.maxPixels) {
    throw new InvalidImageError(
      `the image is ${meta.width}×${meta.height} pixels, over the limit of ${limits.maxPixels}`,
    );
  }
  const pixels = await modelPixels(image, meta, input).catch((error: Error) => {
    // The decoder's own words (libvips, libpng...) stay in the cause, out of the answer.
    throw new InvalidImageError('the image is corrupt or truncated', { cause: error });
  });
  const { width, height } = meta.autoOrient;
  return { ...format, width, height, pixels };
}
