import { MAX_FILENAME_LENGTH } from '../../limits.js';

/**
 * A file part of a multipart request, read whole into memory by the multipart layer
 * (src/http/multipart.ts), which bounds its size. The `Upload` scalar accepts nothing else, so
 * a resolver never sees a half-read stream.
 */
export class UploadedFile {
  readonly filename: string | null;

  constructor(
    readonly bytes: Uint8Array,
    filename: string | undefined,
  ) {
    this.filename = cleanFilename(filename);
  }
}

/**
 * The name as it is kept and shown: Unicode-normalised, without control, format (bidi
 * overrides, zero-width) or line-separator characters, cut to MAX_FILENAME_LENGTH characters.
 */
export function cleanFilename(name: string | undefined): string | null {
  const cleaned = (name ?? '')
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .trim();
  return cleaned ? [...cleaned].slice(0, MAX_FILENAME_LENGTH).join('') : null;
}
