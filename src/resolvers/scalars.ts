import { GraphQLScalarType, Kind } from 'graphql';
import type { UploadedFile } from '../services/images/upload-input.js';
import * as input from '../validation.js';

/** DateTime: ISO 8601 strings in UTC on the wire, Date objects in resolvers. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => {
    const date = value instanceof Date ? value : new Date(value as string | number);
    if (Number.isNaN(date.getTime())) throw new TypeError(`DateTime cannot represent ${String(value)}`);
    return date.toISOString();
  },
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Upload: a file part of a multipart request, already read whole by the multipart layer. */
export const Upload = new GraphQLScalarType<UploadedFile, never>({
  name: 'Upload',
  serialize: () => {
    throw new TypeError('Upload is an input-only scalar');
  },
  parseValue: (value) => input.upload(value),
  parseLiteral: () => input.upload(undefined),
});

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime()))
    throw new input.InvalidInputError('DateTime must be an ISO 8601 string', 'DateTime');
  return date;
}
