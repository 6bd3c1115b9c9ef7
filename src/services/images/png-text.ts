/**
 * A PNG's text chunks, dropped before libvips reads the file.
 *
 * libpng inflates every zTXt and compressed iTXt chunk when it reads the header (each up to
 * 8 MB, with no bound on their number), and libvips then copies every text into the metadata of
 * each image of a pipeline: a 131 KB PNG whose zTXt chunks inflate to 128 MB took 830 MB and 5 s
 * to decode, a 478 KB one 4.3 GB. Text never changes a pixel, and nothing here reads it, so the
 * decoder gets the file without it; nothing is inflated to find it, only chunk headers are read.
 */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** tEXt, zTXt, iTXt: text, compressed text, international (optionally compressed) text. */
const TEXT_CHUNKS: ReadonlySet<string> = new Set(['tEXt', 'zTXt', 'iTXt']);

/** Length, type and CRC around a chunk's data. */
const CHUNK_OVERHEAD = 12;

/**
 * The bytes without their text chunks; the same bytes when they hold none or are not a PNG. A
 * chunk that runs past the end stops the walk and the rest is kept as it is: libpng cannot
 * inflate a chunk it cannot read whole, and it refuses the file as truncated there.
 */
export function withoutPngText(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < SIGNATURE.length || !SIGNATURE.equals(bytes.subarray(0, SIGNATURE.length))) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept: Uint8Array[] = [];
  let keptFrom = 0;
  let at = SIGNATURE.length;
  while (at + CHUNK_OVERHEAD <= bytes.byteLength) {
    const end = at + CHUNK_OVERHEAD + view.getUint32(at);
    if (end > bytes.byteLength) break;
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (TEXT_CHUNKS.has(type)) {
      kept.push(bytes.subarray(keptFrom, at));
      keptFrom = end;
    }
    if (type === 'IEND') break;
    at = end;
  }
  if (keptFrom === 0) return bytes;
  kept.push(bytes.subarray(keptFrom));
  return Buffer.concat(kept);
}
