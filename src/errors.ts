import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ErrorRequestHandler, Response } from 'express';
import { GraphQLError, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.js';
import { UnknownVersionError } from './services/catalog/catalog.js';
import { IndexTooSmallError } from './services/catalog/dataset.js';
import { InvalidImageError } from './services/images/image-probe.js';
import { ImageNotFoundError } from './services/search.js';
import { StorageUnavailableError } from './services/storage/storage-failures.js';
import { InvalidInputError } from './validation.js';

/** A request refused before GraphQL runs (malformed or oversize body), with its HTTP status. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'BAD_USER_INPUT',
    /** Seconds after which the same request may succeed (sent as Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Service errors the client caused, with the GraphQL error code each maps to. */
const CODES: Array<[new (...args: never[]) => Error, string]> = [
  [InvalidInputError, 'BAD_USER_INPUT'],
  [InvalidImageError, 'BAD_USER_INPUT'],
  [UnknownVersionError, 'NOT_FOUND'],
  [ImageNotFoundError, 'NOT_FOUND'],
  [IndexTooSmallError, 'BAD_USER_INPUT'],
  [StorageUnavailableError, 'SERVICE_UNAVAILABLE'],
];

/** How long clients are asked to wait before they retry an unavailable service, in seconds. */
const RETRY_AFTER_SECONDS = 5;

/** The HTTP status of each code, for the routes outside GraphQL. */
const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, NOT_FOUND: 404, SERVICE_UNAVAILABLE: 503 };

/** A service error the client caused, as its code, message and (for invalid input) field; else null. */
function clientError(error: unknown): { code: string; message: string; field?: string } | null {
  const match = CODES.find(([type]) => error instanceof type);
  if (!match) return null;
  const { message } = error as Error;
  return error instanceof InvalidInputError
    ? { code: match[1], message, field: error.field }
    : { code: match[1], message };
}

/**
 * Apollo's formatError hook: the one place where service errors become GraphQL error codes.
 * Anything unexpected is logged whole and answered with a reference to the log line only: its
 * message may carry library internals (file paths, Rust or libvips text).
 */
export function errorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const known = clientError(original);
    if (known) {
      // No fault of the service's, but the operator needs to know, and what the library said.
      if (original instanceof StorageUnavailableError) {
        logger.warn({ err: original, path: formatted.path }, 'storage unavailable');
      }
      const { message, ...extensions } = known;
      return { ...formatted, message, extensions: { ...formatted.extensions, ...extensions } };
    }
    const code = formatted.extensions?.code;
    if (code && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    // A request Apollo refused with a 4xx but no code (a persisted query whose hash does not
    // match its text) is the client's mistake: its message says what, and the log needs no stack.
    const status = original instanceof GraphQLError ? (original.extensions.http as { status?: number })?.status : 0;
    if (status && status >= 400 && status < 500) {
      logger.debug({ message: formatted.message, status }, 'request refused');
      return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }
    const reference = randomUUID().slice(0, 8);
    logger.error({ err: original, reference, path: formatted.path }, 'unexpected error in a GraphQL request');
    return {
      message: `internal error (reference ${reference}); the server log has the details`,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', reference },
    };
  };
}

/**
 * Errors raised outside Apollo (multipart bodies, bad JSON, the MVP's routes) answer in GraphQL's
 * shape, service errors with the code and an HTTP status that goes with it.
 */
export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: { status?: number; type?: string; message?: string }, req, res, next) => {
    if (res.headersSent) return next(error);
    // An error answer is never kept, whatever a route set before it failed.
    res.removeHeader('ETag');
    res.set('Cache-Control', 'no-store');
    if (error instanceof RequestError) {
      if (error.retryAfter !== undefined) res.set('Retry-After', String(error.retryAfter));
      return void res.status(error.status).json(errorBody(error.message, error.code));
    }
    if (error instanceof StorageUnavailableError) {
      logger.warn({ err: error, url: req.originalUrl }, 'storage unavailable');
      return respondUnavailable(res, error.message);
    }
    const known = clientError(error);
    if (known) {
      const { message, code, ...more } = known;
      return void res.status(STATUS[code] ?? 400).json(errorBody(message, code, more));
    }
    // body-parser's errors (bad JSON, too large) carry a status and a message meant for clients.
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, 'unexpected error in an HTTP request');
    const message = status < 500 ? (error.message ?? 'bad request') : 'internal server error';
    res.status(status).json(errorBody(message, status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR'));
  };
}

function errorBody(message: string, code: string, more: { field?: string } = {}) {
  return { errors: [{ message, extensions: { code, ...more } }] };
}

export function unauthenticated(why = 'mutations need Authorization: Bearer <API_KEY>'): GraphQLError {
  return new GraphQLError(why, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

/** An operation refused before it runs because of its shape or cost. */
export function tooCostly(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COSTLY', http: { status: 400 } } });
}

/** Variables that do not fit the operation's types, found before graphql-js's own check runs. */
export function badVariables(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/** An operation of a type the schema does not have: subscriptions, which this API does not serve. */
export function unsupportedOperation(node: OperationDefinitionNode): GraphQLError {
  return new GraphQLError(`${node.operation} operations are not supported: this API serves queries and mutations`, {
    nodes: node,
  });
}

/** 503 while the model loads: clients should come back shortly. */
export function respondStarting(res: Response): void {
  respondUnavailable(res, 'the service is starting: the embedding model is loading');
}

function respondUnavailable(res: Response, message: string): void {
  res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json(errorBody(message, 'SERVICE_UNAVAILABLE'));
}

/**
 * A GraphQL answer whose every error is SERVICE_UNAVAILABLE is an HTTP 503 with Retry-After, as
 * on the other routes: HTTP clients and proxies then retry it by themselves.
 */
export const unavailableStatus: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const errors = response.body.singleResult.errors ?? [];
        if (errors.length === 0 || errors.some((e) => e.extensions?.code !== 'SERVICE_UNAVAILABLE')) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
      },
    };
  },
};
