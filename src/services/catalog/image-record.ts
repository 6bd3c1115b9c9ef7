import * as arrow from 'apache-arrow';

/** Lance column names of the images dataset. */
export const COLUMNS = [
  'id',
  'key',
  'filename',
  'content_type',
  'size',
  'width',
  'height',
  'created_at',
  'vector',
] as const;
export type Column = (typeof COLUMNS)[number];

/** Every column but the vector: what a metadata-only read fetches. */
export const METADATA_COLUMNS: Column[] = COLUMNS.filter((c) => c !== 'vector');

/**
 * An image row as the service passes it around. Only `id` is always present: reads fetch just
 * the columns a GraphQL selection needs, so the other fields are there only when selected.
 */
export interface ImageRecord {
  id: string;
  key?: string;
  filename?: string | null;
  contentType?: string;
  size?: number;
  width?: number;
  height?: number;
  createdAt?: Date;
  vector?: ArrayLike<number>;
}

/** A complete row, as the writer appends it. */
export type NewImageRow = Required<ImageRecord>;

/** The table's schema; `vectorMetadata` records the model the vectors come from (model-record.ts). */
export function imageSchema(dimension: number, vectorMetadata = new Map<string, string>()): arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('id', new arrow.Utf8(), false),
    new arrow.Field('key', new arrow.Utf8(), false),
    new arrow.Field('filename', new arrow.Utf8(), true),
    new arrow.Field('content_type', new arrow.Utf8(), false),
    new arrow.Field('size', new arrow.Int32(), false),
    new arrow.Field('width', new arrow.Int32(), false),
    new arrow.Field('height', new arrow.Int32(), false),
    new arrow.Field('created_at', new arrow.TimestampMillisecond('UTC'), false),
    new arrow.Field(
      'vector',
      new arrow.FixedSizeList(dimension, new arrow.Field('item', new arrow.Float32(), true)),
      false,
      vectorMetadata,
    ),
  ]);
}

/** The row Lance stores for a new image. */
export function toLanceRow(image: NewImageRow): Record<string, unknown> {
  return {
    id: image.id,
    key: image.key,
    filename: image.filename,
    content_type: image.contentType,
    size: image.size,
    width: image.width,
    height: image.height,
    created_at: image.createdAt,
    vector: Array.from(image.vector),
  };
}

/** Maps a (possibly projected) Lance row back to a record, keeping absent columns absent. */
export function fromLanceRow(row: Record<string, unknown>): ImageRecord {
  const record: ImageRecord = { id: String(row.id) };
  if ('key' in row) record.key = row.key as string;
  if ('filename' in row) record.filename = (row.filename as string | null) ?? null;
  if ('content_type' in row) record.contentType = row.content_type as string;
  if ('size' in row) record.size = Number(row.size);
  if ('width' in row) record.width = Number(row.width);
  if ('height' in row) record.height = Number(row.height);
  if ('created_at' in row) record.createdAt = new Date(Number(row.created_at));
  if ('vector' in row && row.vector != null) record.vector = toFloats(row.vector);
  return record;
}

function toFloats(value: unknown): ArrayLike<number> {
  // Arrow hands back a Vector for FixedSizeList cells; its toArray() is a Float32Array view.
  const maybeVector = value as { toArray?: () => Float32Array };
  return typeof maybeVector.toArray === 'function' ? maybeVector.toArray() : (value as number[]);
}
