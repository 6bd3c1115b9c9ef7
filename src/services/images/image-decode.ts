/**
 * CLIP's image preprocessing, done by libvips in the same pass that decodes the upload.
 *
 * The processor of transformers.js resizes the shortest edge to S first and crops afterwards,
 * so a 100000×1 image becomes 22,400,000×224 pixels before the crop throws almost all of it
 * away (17 GB, then an abort). Cropping the centre square first and resizing only that gives the
 * same S×S square without ever enlarging the long side, and libvips streams the decode through
 * the crop and the shrink instead of holding the whole image.
 */
import sharp, { type Interpolators, type KernelEnum, type Sharp } from 'sharp';

/** The input the image encoder takes, read from the model's preprocessor_config.json. */
export interface ImageInput {
  /** Side of the square the encoder sees (crop_size). */
  size: number;
  /** Side of the centre crop as a share of the shortest edge (crop_size / size.shortest_edge). */
  cropShare: number;
  resample: Resample;
  /** Pixel values are multiplied by this, then normalised per channel (R, G, B). */
  rescale: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** A PIL resampling filter in libvips' terms: the kernel for shrinking, the interpolator for enlarging. */
interface Resample {
  kernel: keyof KernelEnum;
  interpolator: Interpolators[keyof Interpolators];
}

/** The PIL codes Hugging Face configs store (2 bilinear, 3 bicubic). */
const RESAMPLE: Record<number, Resample> = {
  2: { kernel: 'linear', interpolator: 'bilinear' },
  3: { kernel: 'cubic', interpolator: 'bicubic' },
};

/**
 * The preprocessing a CLIP-style config asks for. A config that does something else (no
 * shortest-edge resize, no square centre crop: other model families) is refused at start-up
 * rather than fed images prepared differently from what the model was trained on.
 */
export function imageInputFrom(config: Record<string, unknown>): ImageInput {
  const refuse = (problem: string) => {
    throw new Error(`unsupported image preprocessing in preprocessor_config.json: ${problem}`);
  };
  const size = config.size as { shortest_edge?: unknown } | number | undefined;
  const shortest = typeof size === 'number' ? size : size?.shortest_edge;
  if (config.do_resize === false || typeof shortest !== 'number') return refuse('no size.shortest_edge resize');
  const crop = squareSide(config.crop_size);
  if (config.do_center_crop !== true || crop === undefined) return refuse('no square centre crop (crop_size)');
  if (crop > shortest) return refuse(`crop_size ${crop} is larger than size.shortest_edge ${shortest}`);
  const resample = RESAMPLE[typeof config.resample === 'number' ? config.resample : 2];
  if (!resample) return refuse(`resample ${String(config.resample)} (only 2 and 3 are)`);
  const normalise = config.do_normalize !== false;
  const rescale = typeof config.rescale_factor === 'number' ? config.rescale_factor : 1 / 255;
  return {
    size: crop,
    cropShare: crop / shortest,
    resample,
    rescale: config.do_rescale === false ? 1 : rescale,
    mean: normalise ? perChannel(config.image_mean, 'image_mean') : [0, 0, 0],
    std: normalise ? perChannel(config.image_std, 'image_std') : [1, 1, 1],
  };
}

/**
 * The encoder's input for one image: `3 × size × size` floats, channel-major (CHW), i.e. one
 * image of the `pixel_values` tensor. `width` and `height` are the stored (not EXIF-rotated)
 * dimensions from the image's header.
 *
 * EXIF orientation is applied after the crop: the centre square of the rotated image is the
 * rotated centre square, and turning that square is cheaper than turning the whole image. sharp
 * orients before a crop when auto-orientation is requested first, so it is requested last.
 * Transparency is composited on white, as the Python CLIP processor does.
 */
export async function modelPixels(
  image: Sharp,
  { width, height }: { width: number; height: number },
  input: ImageInput,
): Promise<Float32Array> {
  const { size, resample } = input;
  const side = Math.max(1, Math.round(Math.min(width, height) * input.cropShare));
  const square = image.extract({
    left: Math.floor((width - side) / 2),
    top: Math.floor((height - side) / 2),
    width: side,
    height: side,
  });
  // libvips' resize filters like PIL when it shrinks (measured: 0.2 grey levels apart).
  if (side >= size)
    return normalised(await rgb(square.resize(size, size, { fit: 'fill', kernel: resample.kernel })), input);
  const margined = await rgb(
    square.extend({ top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN, extendWith: 'copy' }),
  );
  return normalised(await enlarged(margined, input), input);
}

/** Edge pixels copied around a square before it is enlarged: the bicubic filter reaches 2 pixels out. */
const MARGIN = 2;

/** 8-bit RGB pixels, and where in them the model's square starts. */
interface Rgb {
  data: Uint8Array;
  width: number;
  left: number;
  top: number;
}

/** The pipeline's last steps, which end the decode: upright, on white, 8-bit sRGB. */
async function rgb(image: Sharp): Promise<Rgb> {
  const { data, info } = await image
    .autoOrient()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, left: 0, top: 0 };
}

/**
 * Enlarges a square smaller than the model's (with {@link MARGIN}) the way PIL does: output pixel
 * centres fall on `(X + 0.5) / k - 0.5` in the input. libvips' resize enlarges with another
 * alignment (2-6 grey levels from PIL), and its affine transform samples black beyond the edges,
 * hence the copied margin, shifted out of the window; measured 0.1 grey levels from PIL.
 */
async function enlarged(square: Rgb, { size, resample }: ImageInput): Promise<Rgb> {
  const k = size / (square.width - 2 * MARGIN);
  const start = Math.ceil(MARGIN * k);
  const shift = k / 2 - 0.5 + start - MARGIN * k;
  const { data, info } = await sharp(square.data, { raw: { width: square.width, height: square.width, channels: 3 } })
    .affine([k, 0, 0, k], { interpolator: resample.interpolator, odx: shift, ody: shift })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (Math.min(info.width, info.height) < start + size)
    throw new Error(`enlarged to ${info.width}×${info.height} only`);
  return { data, width: info.width, left: start, top: start };
}

/** The `size × size` window of HWC bytes, as normalised CHW floats. */
function normalised({ data, width, left, top }: Rgb, { size, rescale, mean, std }: ImageInput): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const value = data[((top + y) * width + left + x) * 3 + c]!;
        out[c * plane + y * size + x] = (value * rescale - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

function squareSide(crop: unknown): number | undefined {
  if (typeof crop === 'number') return crop;
  const { width, height } = (crop ?? {}) as { width?: unknown; height?: unknown };
  return typeof width === 'number' && width === height ? width : undefined;
}

function perChannel(value: unknown, name: string): [number, number, number] {
  const values = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(values) || values.length !== 3 || !values.every((v) => typeof v === 'number')) {
    throw new Error(`unsupported image preprocessing in preprocessor_config.json: ${name} must give 3 numbers`);
  }
  return values as [number, number, number];
}
