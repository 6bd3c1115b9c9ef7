import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { decodeCost } from './decode-cost.js';
import { modelPixels, type ImageInput } from './image-decode.js';
import { withoutPngText } from './png-text.js';
import { tiffBlockRowPixels } from './tiff-layout.js';

/** What a file is and what decoding it costs, read from its header before any pixel is decoded. */
export interface ImageHeader {
  ext: string;
  contentType: string;
  /** As stored (before EXIF orientation). */
  width: number;
  height: number;
  /** As displayed, i.e. after EXIF orientation. */
  displayed: { width: number; height: number };
  /** Estimated peak bytes of one decode (decode-cost.ts): its share of the decode budget. */
  cost: number;
  /** What the decoder is given: the file, less a PNG's text chunks (png-text.ts). */
  decodable: Uint8Array;
}

/** What an upload is, read from its bytes by one decode. */
export interface ProbedImage {
  ext: string;
  contentType: string;
  /** As displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  /** The image encoder's input (see image-decode.ts). */
  pixels: Float32Array;
  /** The header it was decoded from, for its thumbnail's decode. */
  header: ImageHeader;
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

/** sharp's name for the format stored under this extension (heif for avif), or undefined. */
export function formatOfExtension(ext: string): string | undefined {
  return Object.entries(FORMATS).find(([, f]) => f.ext === ext)?.[0];
}

/**
 * Lowercase file extensions of the accepted formats, for clients that pick images out of a folder
 * by name. The service itself never trusts a name: it detects the format from the bytes.
 */
export const IMAGE_FILE_EXTENSIONS: ReadonlySet<string> = new Set(
  Object.values(FORMATS).flatMap((f) => f.fileExtensions),
);

export interface ProbeLimits {
  /** MAX_IMAGE_PIXELS */
  maxPixels: number;
  /** DECODE_MEMORY_BYTES: the most one decode may be estimated to cost. */
  maxDecodeBytes: number;
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
 * Detects the format from the bytes (never from the client's name or type), and checks the pixel
 * count and the estimated decode memory from the header, before any pixel is decoded. A PNG's
 * text chunks are dropped first: libpng would inflate them while reading the header.
 */
export async function readHeader(bytes: Uint8Array, limits: ProbeLimits): Promise<ImageHeader> {
  const decodable = withoutPngText(bytes);
  // The pixel limit is checked below from the header instead of by `limitInputPixels`, whose
  // refusal reads like any unreadable file.
  const meta = await sharp(decodable, { ...DECODING, limitInputPixels: false })
    .metadata()
    .catch(() => {
      throw new InvalidImageError('the file is not an image in a supported format (jpeg, png, webp, gif, avif, tiff)');
    });
  const format = meta.format === 'heif' && meta.compression !== 'av1' ? undefined : FORMATS[meta.format ?? ''];
  if (!format || !meta.width || !meta.height) {
    throw new InvalidImageError(`unsupported image format: ${meta.format ?? 'unknown'}`);
  }
  const { width, height } = meta;
  if (width * height > limits.maxPixels) {
    throw new InvalidImageError(`the image is ${width}×${height} pixels, over the limit of ${limits.maxPixels}`);
  }
  const blockRowPixels = meta.format === 'tiff' ? tiffBlockRowPixels(decodable, width, height) : undefined;
  const cost = decodeCost({ ...meta, width, height, blockRowPixels });
  if (cost > limits.maxDecodeBytes) {
    throw new InvalidImageError(
      `decoding this ${width}×${height} ${variantName(meta)} would take about ${mebibytes(cost)} MiB of memory, ` +
        `over the limit of ${mebibytes(limits.maxDecodeBytes)} MiB (DECODE_MEMORY_BYTES)`,
    );
  }
  return { ...format, width, height, displayed: meta.autoOrient, cost, decodable };
}

/**
 * Decodes once, straight into the model's input. A file that cannot be decoded is refused here;
 * only its thumbnail decodes it again, under the same {@link DECODING} policy, so it cannot fail
 * there instead.
 */
export async function decodeForModel(header: ImageHeader, input: ImageInput): Promise<ProbedImage> {
  const image = sharp(header.decodable, { ...DECODING, limitInputPixels: false });
  const pixels = await modelPixels(image, header, input).catch((error: Error) => {
    // The decoder's own words (libvips, libpng...) stay in the cause, out of the answer.
    throw new InvalidImageError('the image is corrupt or truncated', { cause: error });
  });
  const { ext, contentType, displayed } = header;
  return { ext, contentType, ...displayed, pixels, header };
}

/** {@link readHeader}, then {@link decodeForModel}, with no decode budget to wait for. */
export async function probeImage(bytes: Uint8Array, limits: ProbeLimits, input: ImageInput): Promise<ProbedImage> {
  return decodeForModel(await readHeader(bytes, limits), input);
}

/** The variant that decides the cost, in the client's words: "progressive JPEG", "16-bit AVIF". */
function variantName(meta: Metadata): string {
  const name = meta.format === 'heif' ? 'AVIF' : (meta.format ?? 'image').toUpperCase();
  const bits = (meta.bitsPerSample ?? 8) > 8 ? `${meta.bitsPerSample}-bit ` : '';
  const progressive = meta.isProgressive ? (meta.format === 'png' ? 'interlaced ' : 'progressive ') : '';
  return `${progressive}${bits}${name}`;
}

const mebibytes = (bytes: number) => Math.ceil(bytes / (1024 * 1024));
