import sharp from 'sharp';

export type Rgb = readonly [number, number, number];

/** Everyday shades, deliberately not the test model's exact prototypes. */
export const COLOURS = {
  red: [220, 25, 30],
  green: [30, 150, 40],
  blue: [25, 40, 210],
  yellow: [245, 225, 40],
  cyan: [40, 220, 225],
  magenta: [225, 35, 220],
  orange: [250, 140, 10],
  purple: [115, 25, 130],
  white: [248, 248, 245],
  black: [12, 12, 15],
  gray: [128, 128, 128],
} as const satisfies Record<string, Rgb>;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

export type Format = 'png' | 'jpeg' | 'webp' | 'gif' | 'avif' | 'tiff';

/** A solid-colour image. */
export function solid([r, g, b]: Rgb, format: Format = 'png', size = 64): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } })
    .toFormat(format)
    .toBuffer();
}

/** A colour with per-pixel noise: the same colour to a person, different bytes for every seed. */
export function noisy([r, g, b]: Rgb, amplitude: number, seed: number, format: Format = 'jpeg'): Promise<Buffer> {
  const size = 64;
  const data = Buffer.alloc(size * size * 3);
  let state = seed;
  const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 2 * amplitude;
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < size * size; i++) {
    data[i * 3] = clamp(r + rand());
    data[i * 3 + 1] = clamp(g + rand());
    data[i * 3 + 2] = clamp(b + rand());
  }
  return sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

/** `count` distinct images of one colour (noise seeded by index). */
export function distinctImages(count: number, colour: Rgb = COLOURS.gray, offset = 0): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => noisy(colour, 12, offset + i + 1)));
}

/** An image's real bytes followed by padding to one byte past `limit`: only its size is wrong. */
export function oversize(image: Buffer, limit: number): Buffer {
  return Buffer.concat([image, Buffer.alloc(limit + 1 - image.length, 0)]);
}
