import { MAX_TEXT_LENGTH } from './limits.js';
import { UploadedFile } from './services/images/upload-input.js';

/** Client input that breaks a rule; `field` names the argument. */
export class InvalidInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Validation of client input, in one place, before any service is called. */

const SHA256 = /^[0-9a-f]{64}$/;

export function searchText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new InvalidInputError('text must not be empty', 'text');
  if (trimmed.length > MAX_TEXT_LENGTH) {
    throw new InvalidInputError(`text must be at most ${MAX_TEXT_LENGTH} characters`, 'text');
  }
  return trimmed;
}

export function limit(value: number | null | undefined, max: number, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidInputError(`limit must be between 1 and ${max}`, 'limit');
  return n;
}

export function offset(value: number | null | undefined): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError('offset must be 0 or more', 'offset');
  return n;
}

export function imageId(id: string): string {
  const normalised = id.toLowerCase();
  if (!SHA256.test(normalised)) throw new InvalidInputError('id must be a sha256: 64 hexadecimal characters', 'id');
  return normalised;
}

export function version(value: number | null | undefined): number | undefined {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError('version must be 1 or more', 'version');
  return value;
}

/** An `Upload` argument: only a file part of a multipart request is one. */
export function upload(value: unknown): UploadedFile {
  if (value instanceof UploadedFile) return value;
  throw new InvalidInputError('an Upload must be a file part of a multipart request', 'file');
}

/** The files of uploadImages; their number is bounded by the multipart layer (MAX_UPLOAD_FILES). */
export function uploads(values: readonly unknown[]): UploadedFile[] {
  if (values.length === 0) throw new InvalidInputError('send at least one file', 'files');
  return values.map(upload);
}
