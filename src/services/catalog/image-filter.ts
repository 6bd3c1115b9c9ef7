import { ACCEPTED_CONTENT_TYPES } from '../images/image-probe.js';

/** Inclusive bounds; either may be left out. */
export interface Range<T> {
  min?: T;
  max?: T;
}

/**
 * Which images a read keeps, as validated values (src/validation.ts builds it from GraphQL
 * input). Every condition given must hold.
 */
export interface ImageFilter {
  /** MIME types, from the accepted formats only. */
  contentTypes?: readonly string[];
  width?: Range<number>;
  height?: Range<number>;
  size?: Range<number>;
  createdAt?: Range<Date>;
  /** A substring of the file name, matched regardless of case. */
  filenameContains?: string;
}

/** Integer columns a filter can bound, by the filter's name for them. */
const INT_COLUMNS = { width: 'width', height: 'height', size: 'size' } as const;

/**
 * The Lance (DataFusion SQL) predicate for `filter`, or undefined when it keeps every row.
 * LanceDB (0.37 to 0.39) takes filters as SQL text only, so this is the one place that writes it: every
 * value is rendered by a function of its type (integer, timestamp, string literal, LIKE
 * pattern) and checked again here, so that no client text reaches the SQL unescaped.
 */
export function filterSql(filter: ImageFilter | undefined): string | undefined {
  if (!filter) return undefined;
  const conditions: string[] = [];
  if (filter.contentTypes) conditions.push(`content_type IN (${filter.contentTypes.map(contentType).join(', ')})`);
  for (const [name, column] of Object.entries(INT_COLUMNS)) {
    conditions.push(...bounds(column, filter[name as keyof typeof INT_COLUMNS], integer));
  }
  conditions.push(...bounds('created_at', filter.createdAt, timestamp));
  if (filter.filenameContains !== undefined) {
    conditions.push(`filename ILIKE ${stringLiteral(`%${likeEscaped(filter.filenameContains)}%`)} ESCAPE '\\'`);
  }
  return conditions.length > 0 ? conditions.join(' AND ') : undefined;
}

function bounds<T>(column: string, range: Range<T> | undefined, render: (value: T) => string): string[] {
  const conditions: string[] = [];
  if (range?.min !== undefined) conditions.push(`${column} >= ${render(range.min)}`);
  if (range?.max !== undefined) conditions.push(`${column} <= ${render(range.max)}`);
  return conditions;
}

function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
  return String(value);
}

/** A millisecond UTC timestamp literal, the column's own precision. */
function timestamp(value: Date): string {
  const iso = value.toISOString();
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(iso)) throw new TypeError(`not a four-digit year: ${iso}`);
  return `TIMESTAMP '${iso}'`;
}

function contentType(value: string): string {
  if (!ACCEPTED_CONTENT_TYPES.has(value)) throw new TypeError(`not an accepted content type: ${value}`);
  return stringLiteral(value);
}

/** An SQL string literal: quotes doubled. Lance's parser takes backslashes in literals as they are. */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `text` matched literally inside a LIKE pattern whose escape character is the backslash. */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The predicate for rows with these ids. ids are validated as 64 hex characters at the edge, so quoting them is safe. */
export function idIn(ids: readonly string[]): string {
  return `id IN (${ids.map((id) => `'${id}'`).join(', ')})`;
}
