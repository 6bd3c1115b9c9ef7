import type {
  ImageFilter as ImageFilterInput,
  ImageOrder,
  ImageOrderBy,
  InputMaybe,
  IntRange,
} from './__generated__/resolvers-types.js';
import { MAX_FILENAME_LENGTH, MAX_TEXT_LENGTH } from './limits.js';
import type { ImageFilter, Range } from './services/catalog/image-filter.js';
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

/** A query-string parameter (the MVP's routes): given at most once; undefined when absent. */
export function queryParameter(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new InvalidInputError(`give ${name} once`, name);
}

/** A number in a query string, for the range checks above: NaN unless it is written as a whole number. */
export function queryInteger(value: unknown, name: string): number | undefined {
  const text = queryParameter(value, name)?.trim();
  if (text === undefined) return undefined;
  return /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
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

/** A version number (the argument `field`). */
export function version(value: number | null | undefined, field = 'version'): number | undefined {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${field} must be 1 or more`, field);
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

/** A filter's input as the service's typed filter: ranges checked, content types as MIME types. */
export function imageFilter(value?: InputMaybe<ImageFilterInput>): ImageFilter | undefined {
  if (value == null) return undefined;
  const filter: ImageFilter = {};
  if (value.contentTypes != null) {
    if (value.contentTypes.length === 0) {
      throw new InvalidInputError('name at least one content type, or leave contentTypes out', 'filter.contentTypes');
    }
    // The ContentType enum names the formats by their MIME subtype (JPEG is image/jpeg).
    filter.contentTypes = [...new Set(value.contentTypes.map((type) => `image/${type.toLowerCase()}`))].sort();
  }
  for (const name of ['width', 'height', 'size'] as const) {
    const range = intRange(value[name], `filter.${name}`);
    if (range) filter[name] = range;
  }
  const createdAt = dateRange(value.createdAt);
  if (createdAt) filter.createdAt = createdAt;
  if (value.filenameContains != null) {
    const text = value.filenameContains;
    if (text.length === 0 || text.length > MAX_FILENAME_LENGTH) {
      throw new InvalidInputError(
        `filenameContains must be 1 to ${MAX_FILENAME_LENGTH} characters`,
        'filter.filenameContains',
      );
    }
    filter.filenameContains = text;
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}

function intRange(value: InputMaybe<IntRange> | undefined, field: string): Range<number> | undefined {
  if (value == null) return undefined;
  const range: Range<number> = {};
  for (const bound of ['min', 'max'] as const) {
    const n = value[bound];
    if (n == null) continue;
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`${field}.${bound} must be 0 or more`, field);
    range[bound] = n;
  }
  return checkedOrder(range, field);
}

/** Years 0 to 9999: what an ISO 8601 timestamp literal can say without an expanded year. */
const MIN_DATE = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_DATE = Date.parse('9999-12-31T23:59:59.999Z');

function dateRange(value: InputMaybe<ImageFilterInput['createdAt']>): Range<Date> | undefined {
  if (value == null) return undefined;
  const range: Range<Date> = {};
  for (const [bound, key] of [
    ['from', 'min'],
    ['to', 'max'],
  ] as const) {
    const date = value[bound];
    if (date == null) continue;
    const time = date.getTime();
    if (!(time >= MIN_DATE && time <= MAX_DATE)) {
      throw new InvalidInputError(`filter.createdAt.${bound} must be in the years 0000 to 9999`, 'filter.createdAt');
    }
    range[key] = date;
  }
  return checkedOrder(range, 'filter.createdAt');
}

function checkedOrder<T extends number | Date>(range: Range<T>, field: string): Range<T> | undefined {
  if (range.min !== undefined && range.max !== undefined && range.min > range.max) {
    throw new InvalidInputError(`${field}: the lower bound is above the upper bound`, field);
  }
  return range.min === undefined && range.max === undefined ? undefined : range;
}

/**
 * Whether `images` runs newest first: the deprecated `order` decides when a client still sends
 * it (STORAGE is oldest first), else `orderBy`, newest first by default.
 */
export function newestFirst(orderBy: InputMaybe<ImageOrderBy> | undefined, order?: InputMaybe<ImageOrder>): boolean {
  if (order != null) return order === 'NEWEST_FIRST';
  return (orderBy ?? 'NEWEST_FIRST') === 'NEWEST_FIRST';
}
