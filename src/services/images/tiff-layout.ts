/**
 * How a TIFF's first image is cut into blocks, read from its first directory: libtiff decodes a
 * strip or tile whole, and libvips caches a row of tiles, so a TIFF of 2000×2000 pixels in
 * 4096×4096 tiles took 69 MiB where one in 8-row strips took 8. sharp's metadata does not say.
 */

const TILE_WIDTH = 322;
const TILE_LENGTH = 323;
const ROWS_PER_STRIP = 278;

/**
 * Pixels in one row of blocks: a row of tiles, padded to whole tiles, or one strip. Undefined
 * when the directory cannot be read here (libvips may still read it: the caller assumes the worst).
 */
export function tiffBlockRowPixels(bytes: Uint8Array, width: number, height: number): number | undefined {
  const tags = firstDirectory(bytes, [TILE_WIDTH, TILE_LENGTH, ROWS_PER_STRIP]);
  if (!tags) return undefined;
  const tileWidth = tags.get(TILE_WIDTH);
  const tileLength = tags.get(TILE_LENGTH);
  if (tileWidth && tileLength) return Math.ceil(width / tileWidth) * tileWidth * tileLength;
  return width * Math.min(height, tags.get(ROWS_PER_STRIP) ?? height);
}

/** The single-valued SHORT, LONG or LONG8 entries of IFD0 with these tags; undefined if unreadable. */
function firstDirectory(bytes: Uint8Array, wanted: number[]): Map<number, number> | undefined {
  if (bytes.byteLength < 16) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const big = view.getUint16(2, little) === 43; // BigTIFF: 8-byte counts and offsets
  const offset = big ? Number(view.getBigUint64(8, little)) : view.getUint32(4, little);
  const entrySize = big ? 20 : 12;
  const countSize = big ? 8 : 2;
  if (offset + countSize > bytes.byteLength) return undefined;
  const entries = big ? Number(view.getBigUint64(offset, little)) : view.getUint16(offset, little);
  const found = new Map<number, number>();
  for (let i = 0; i < entries; i++) {
    const at = offset + countSize + i * entrySize;
    if (at + entrySize > bytes.byteLength) return undefined;
    const tag = view.getUint16(at, little);
    if (!wanted.includes(tag)) continue;
    const type = view.getUint16(at + 2, little);
    const value = at + (big ? 12 : 8);
    if (type === 3) found.set(tag, view.getUint16(value, little));
    else if (type === 4) found.set(tag, view.getUint32(value, little));
    else if (type === 16 && big) found.set(tag, Number(view.getBigUint64(value, little)));
  }
  return found;
}
