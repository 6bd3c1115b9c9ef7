import { GraphQLScalarType, Kind } from 'graphql';
import type { UploadedFile } from '../services/images/upload-input.js';
import * as input from '../validation.js';

/**
 * graphql-tools copies every property of a resolver's scalar onto the SDL's, `undefined` ones too,
 * which erased the SDL's description and @specifiedBy at runtime. Without them the SDL's stay.
 */
function keepingSdlDocs<T extends GraphQLScalarType>(scalar: T): T {
  const docs: Partial<GraphQLScalarType> = scalar;
  delete docs.description;
  delete docs.specifiedByURL;
  return scalar;
}

/** DateTime: RFC 3339 strings in UTC on the wire, Date objects in resolvers. */
export const DateTime = keepingSdlDocs(
  new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    serialize: (value) => {
      const date = value instanceof Date ? value : new Date(value as string | number);
      if (Number.isNaN(date.getTime())) throw new TypeError(`DateTime cannot represent ${String(value)}`);
      return date.toISOString();
    },
    parseValue: (value) => parseDate(value),
    parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
  }),
);

/** Upload: a file part of a multipart request, already read whole by the multipart layer. */
export const Upload = keepingSdlDocs(
  new GraphQLScalarType<UploadedFile, never>({
    name: 'Upload',
    serialize: () => {
      throw new TypeError('Upload is an input-only scalar');
    },
    parseValue: (value) => input.upload(value),
    parseLiteral: () => input.upload(undefined),
  }),
);

/** An RFC 3339 date-time, as its @specifiedBy asks: date, time and offset (Z or ±hh:mm). */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' && RFC_3339.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime()))
    throw new input.InvalidInputError('DateTime must be an RFC 3339 date-time, e.g. 2024-05-01T12:30:00Z', 'DateTime');
  return date;
}
