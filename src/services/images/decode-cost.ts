/**
 * What decoding an image costs in memory, told from its header before any pixel is decoded.
 *
 * The figures are peak RSS measured around the decode of an upload (the model's input) and of
 * its thumbnail, in a child process per format, variant and size (`npm run bench:decode`,
 * benchmarks/results/decode-memory.md). Each estimate is above every measurement. The pixel count
 * alone says little: a 10000×10000 AVIF took 1.8 GB, a progressive JPEG of that size 650 MB,
 * and a baseline JPEG of 6000×6000 30 MB.
 */

const MiB = 1024 * 1024;

/** Decoder set-up, whatever the size (AVIF's decoder: 5 MiB for 256×256). */
const SETUP = 16 * MiB;

/**
 * Rows that libvips holds at once while it streams an image through the crop and the shrink
 * (measured: up to 1,800), or, of a short image, copies of it (three measured at 50000×200).
 */
const WINDOW_ROWS = 2048;
const SHORT_IMAGE_COPIES = 4;

/** The parts of sharp's metadata that decide the cost. */
export interface DecodeHeader {
  /** sharp's name: jpeg, png, webp, gif, heif (AVIF here), tiff. */
  format: string;
  width: number;
  height: number;
  channels: number;
  /** libvips' band format: uchar, ushort, float... */
  depth: string;
  bitsPerSample?: number;
  /** Progressive JPEG, or Adam7-interlaced PNG. */
  isProgressive?: boolean;
  /** JPEG only: libvips says 4:2:0 for any subsampling, 4:4:4 for none (4:2:0:4, 4:4:4:4 for CMYK). */
  chromaSubsampling?: string;
  /** TIFF only: pixels in one row of tiles, or in one strip (tiff-layout.ts), when known. */
  blockRowPixels?: number;
}

/** Estimated peak bytes of one decode of this image. */
export function decodeCost(header: DecodeHeader): number {
  const { width, height } = header;
  const pixelBytes = header.channels * sampleBytes(header.depth);
  const window = pixelBytes * width * Math.min(WINDOW_ROWS, SHORT_IMAGE_COPIES * height);
  return Math.ceil(SETUP + window + heldWhole(header, pixelBytes));
}

/**
 * The dearest variant of a format at this size, either way up: for an image known only by its
 * stored format and (displayed) dimensions, such as a thumbnail made before its original is read.
 */
export function worstDecodeCost(format: string, width: number, height: number): number {
  return Math.max(worstUpright(format, width, height), worstUpright(format, height, width));
}

function worstUpright(format: string, width: number, height: number): number {
  const worst: Record<string, Pick<DecodeHeader, 'channels' | 'depth' | 'bitsPerSample'>> = {
    jpeg: { channels: 4, depth: 'uchar' },
    png: { channels: 4, depth: 'ushort' },
    webp: { channels: 4, depth: 'uchar' },
    gif: { channels: 4, depth: 'uchar' },
    heif: { channels: 4, depth: 'ushort', bitsPerSample: 12 },
    tiff: { channels: 4, depth: 'float' },
  };
  const variant = worst[format] ?? worst.tiff!;
  return decodeCost({ format, width, height, ...variant, isProgressive: true, chromaSubsampling: '4:4:4:4' });
}

/** Bytes that a format holds for the whole image (or a block of it) at once, beyond the streamed rows. */
function heldWhole(header: DecodeHeader, pixelBytes: number): number {
  const pixels = header.width * header.height;
  switch (header.format) {
    case 'jpeg':
      // libjpeg keeps every DCT coefficient (2 bytes a sample) until a progressive image's last
      // scan, and libvips a row buffer beside them (measured 6.5 bytes a pixel at 4:4:4).
      return header.isProgressive ? (2 * jpegSamplesPerPixel(header) + 0.5) * pixels : 0;
    case 'png':
      // Adam7: the last pass fills every row, so the whole image is decoded first.
      return header.isProgressive ? pixelBytes * pixels : 0;
    case 'webp':
      // libwebp decodes the whole image to RGBA, and libvips copies it (measured 8.4 bytes a pixel).
      return 8 * pixels;
    case 'gif':
      // One RGBA frame (measured 4.8 bytes a pixel).
      return 4 * pixels;
    case 'heif':
      // The AV1 decoder's frame buffers and libheif's planes (measured 18.4 bytes a pixel, and
      // 25.6 above 8 bits).
      return ((header.bitsPerSample ?? 8) > 8 ? 27 : 19.5) * pixels;
    default:
      // TIFF: libtiff decodes a strip or tile whole, and libvips caches a row of tiles, twice
      // over (measured). libvips refuses tiles over twice the image's side, so a row of tiles
      // is at most four times the image when the layout is not known.
      return 2 * pixelBytes * (header.blockRowPixels ?? 4 * pixels);
  }
}

/**
 * Samples per pixel of a JPEG: 3 at 4:4:4, and 2 for any subsampling (1.5 at 4:2:0, 2 at 4:2:2:
 * libvips names both 4:2:0); plus 1 for CMYK's K.
 */
function jpegSamplesPerPixel({ channels, chromaSubsampling }: DecodeHeader): number {
  if (channels === 1) return 1;
  const chroma = chromaSubsampling?.startsWith('4:4:4') ? 2 : 1;
  return 1 + chroma + (channels === 4 ? 1 : 0);
}

function sampleBytes(depth: string): number {
  if (depth === 'uchar' || depth === 'char') return 1;
  if (depth === 'ushort' || depth === 'short') return 2;
  if (depth === 'double' || depth === 'complex') return 8;
  if (depth === 'dpcomplex') return 16;
  return 4;
}
