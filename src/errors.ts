import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { UnknownVersionError } from './services/catalog.js';
import { InvalidImageError } from './services/image-probe.js';
import { ImageNotFoundError } from './services/search.js';
import { UploadTooLargeError } from './services/upload-input.js';
import { StorageError } from './services/uploads.js';
import { IndexTooSmallError } from './services/dataset.js';

/** Service errors the client caused, with the GraphQL error code each maps to. */
const CODES: Array<[new (...args: never[]) => Error, string]> = [
  [InvalidImageError, 'BAD_USER_INPUT'],
  [UploadTooLargeError, 'BAD_USER_INPUT'],
  [UnknownVersionError, 'NOT_FOUND'],
  [ImageNotFoundError, 'NOT_FOUND'],
  [IndexTooSmallError, 'BAD_USER_INPUT'],
  [StorageError, 'SERVICE_UNAVAILABLE'],
];

/**
 * Apollo's formatError hook: the one place where service errors become GraphQL error codes.
 * Anything unexpected keeps Apollo's INTERNAL_SERVER_ERROR code and loses its stack trace.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const match = CODES.find(([type]) => original instanceof type);
  if (match) {
    return {
      ...formatted,
      message: (original as Error).message,
      extensions: { ...formatted.extensions, code: match[1] },
    };
  }
  const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
  return { ...formatted, extensions };
}
