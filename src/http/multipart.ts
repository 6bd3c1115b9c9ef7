import busboy from 'busboy';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LimitFunction } from 'p-limit';
import { RequestError } from '../errors.js';
import { MAX_MULTIPART_FIELD_BYTES } from '../limits.js';
import { UploadedFile } from '../services/images/upload-input.js';
import { authorized } from './auth.js';
import { crossSite } from './cross-site.js';
import { bufferFull, type Arrival, type UploadAdmission } from './upload-admission.js';

const CSRF_MESSAGE =
  'multipart requests need an Apollo-Require-Preflight (or X-Apollo-Operation-Name) header, ' +
  'which a cross-site form cannot send (CSRF protection)';

export interface MultipartOptions {
  /** With API_KEY set, a body is read only from a client that sends it. */
  apiKey: string | undefined;
  /** MAX_UPLOAD_BYTES: one file. */
  maxFileBytes: number;
  /** MAX_UPLOAD_FILES: files in one request. */
  maxFiles: number;
  /** MAX_REQUEST_BYTES: all files of one request together. */
  maxRequestBytes: number;
  /** Who may send a body, and for how long; one for every upload route. */
  admission: UploadAdmission;
  /** UPLOAD_BUFFER_BYTES, named in the refusal when the buffer is full. */
  bufferBytes: number;
  /** UPLOAD_CONCURRENCY: upload requests processed at once, once their bodies are in; one for every upload route. */
  slots: LimitFunction;
}

/**
 * GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec):
 * reads every file part into memory, within the limits, before GraphQL runs, and puts each file
 * where the `map` part says. Any malformed, cut or oversize body is refused with a 4xx before
 * a resolver runs, and the parser's follow-up errors are swallowed rather than left unhandled.
 *
 * A body is admitted and watched while it arrives (upload-admission.ts: a shared byte budget,
 * a few bodies per client, a minimum rate), and takes one of the `slots` (UPLOAD_CONCURRENCY)
 * only once it is all in, until its answer is sent: a slow client holds no slot.
 */
export function multipartUploads(options: MultipartOptions): RequestHandler {
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    const refuse = (error: RequestError) => refuseUnread(req, next, error, bodyBound(options));
    const declared = Number(req.headers['content-length'] ?? 0);
    // The files' framing adds a little to their bytes; a declared body far past that is refused unread.
    if (declared > bodyBound(options)) {
      res.set('Connection', 'close');
      return next(tooLarge(`the request is ${declared} bytes, over the limit of ${options.maxRequestBytes}`));
    }
    // Checked before the body is read: a browser can send a multipart form from any site
    // without a preflight (Apollo's CSRF rule), and uploads are mutations (API_KEY).
    if (!req.headers['apollo-require-preflight'] && !req.headers['x-apollo-operation-name']) {
      return refuse(new RequestError(400, CSRF_MESSAGE));
    }
    if (!authorized(req.headers.authorization, options.apiKey)) return refuse(unauthorized());
    receive(req, res, next, options, GRAPHQL_FORM);
  };
}

/**
 * A plain form with one file part named `file`, as `curl -F file=@photo.jpg` or an HTML form
 * sends it: read into `req.body` as an {@link UploadedFile}, under the same limits, admission and
 * slots as GraphQL's uploads. Such a form needs no preflight, so a request a browser sends for
 * another site is refused instead (see cross-site.ts), before its body is read.
 */
export function fileForm(options: MultipartOptions): RequestHandler {
  return (req, res, next) => {
    const refuse = (error: RequestError) => refuseUnread(req, next, error, bodyBound(options));
    if (crossSite(req.headers)) {
      return refuse(
        new RequestError(403, 'uploads from pages of another site are refused (CSRF protection)', 'FORBIDDEN'),
      );
    }
    if (!req.is('multipart/form-data')) {
      return refuse(new RequestError(415, `send the image as multipart/form-data, in the field "file" (${CURL_FORM})`));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > bodyBound(options)) {
      res.set('Connection', 'close');
      return next(tooLarge(`the request is ${declared} bytes, over the limit of ${options.maxRequestBytes}`));
    }
    if (!authorized(req.headers.authorization, options.apiKey)) return refuse(unauthorized());
    receive(req, res, next, options, FILE_FORM);
  };
}

/**
 * Admits the body, reads it, then runs the route in a processing slot held until its answer has
 * gone. The body's bytes stay counted against the buffer until then too.
 */
function receive(req: Request, res: Response, next: NextFunction, options: MultipartOptions, form: Form): void {
  let arrival: Arrival;
  try {
    arrival = options.admission.admit(req);
  } catch (error) {
    return refuseUnread(req, next, error as RequestError, bodyBound(options));
  }
  res.once('close', arrival.release);
  readMultipart(req, options, form, arrival).then(
    (body) => {
      req.body = body;
      void options.slots(
        () =>
          new Promise<void>((done) => {
            // A client that left while its body waited for a slot is not served, and frees the slot.
            if (res.closed) return done();
            res.once('close', done);
            next();
          }),
      );
    },
    (error: unknown) => refuseUnread(req, next, error as RequestError, bodyBound(options)),
  );
}

const unauthorized = () => new RequestError(401, 'uploads need Authorization: Bearer <API_KEY>', 'UNAUTHENTICATED');

/**
 * Answers a refusal while the body may still be arriving, and discards the rest of that body
 * (up to what a request may hold) instead of closing on it: a client still writing would see
 * its connection reset (`EPIPE` in Node's fetch) instead of the answer.
 */
function refuseUnread(req: Request, next: (error: unknown) => void, error: RequestError, bound: number): void {
  // A body that came too slowly is not waited for any longer: the connection ends with the answer.
  if (error.status === 408) req.res?.set('Connection', 'close');
  else discardRest(req, bound);
  next(error);
}

/** The most a multipart body may hold: its files and the framing around them. */
const bodyBound = (options: MultipartOptions) => options.maxRequestBytes + MAX_MULTIPART_FIELD_BYTES * 2;

/** Reads and drops what is left of a body; past `bound` bytes the connection is cut instead. */
function discardRest(req: Request, bound: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > bound) req.socket.destroy();
  });
}

/** What a multipart body may hold besides its files, and what the route gets from its parts. */
interface Form {
  /** The text fields, all before the first file. */
  fields: readonly string[];
  /** Why a body with other text fields is refused. */
  otherFields: string;
  /** The request's body from its parts; throws a RequestError for parts that do not fit. */
  read(fields: Map<string, string>, files: Map<string, UploadedFile>): unknown;
}

const GRAPHQL_FORM: Form = {
  fields: ['operations', 'map'],
  otherFields: 'only the operations and map fields may precede the files',
  read: placeFiles,
};

const CURL_FORM = 'curl -F file=@photo.jpg';

const FILE_FORM: Form = {
  fields: [],
  otherFields: `the form must hold only the image, in the field "file" (${CURL_FORM})`,
  read: (_, files) => {
    const file = files.get('file');
    if (!file || files.size > 1) throw badRequest(FILE_FORM.otherFields);
    return file;
  },
};

function readMultipart(req: Request, options: MultipartOptions, form: Form, arrival: Arrival): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    const files = new Map<string, UploadedFile>();
    let arrived = 0;
    let received = 0;
    let failed = false;
    let parser: busboy.Busboy;
    const stopWatching = options.admission.watch(
      () => arrived,
      (error) => fail(error),
    );
    const fail = (error: RequestError) => {
      if (failed) return;
      failed = true;
      stopWatching();
      req.off('data', count);
      // Not parser.destroy(): busboy then throws from its own callbacks, uncaught (the crash
      // graphql-upload-minimal had). Unpiped, the parser gets no more input and is dropped.
      req.unpipe(parser);
      arrival.release();
      reject(error);
    };
    const count = (chunk: Buffer) => {
      arrived += chunk.byteLength;
      if (!arrival.take(chunk.byteLength)) fail(bufferFull(options.bufferBytes));
    };
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          fieldSize: MAX_MULTIPART_FIELD_BYTES,
          fields: form.fields.length,
          files: options.maxFiles,
          fileSize: options.maxFileBytes,
        },
      });
    } catch (error) {
      stopWatching();
      return reject(badRequest(`malformed multipart request: ${(error as Error).message}`));
    }
    // A malformed body can raise several errors; the first one decides.
    parser.on('error', (error: Error) => fail(badRequest(`malformed multipart request: ${error.message}`)));
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(tooLarge(`the ${name} part is over ${MAX_MULTIPART_FIELD_BYTES} bytes`));
      if (!form.fields.includes(name)) return fail(badRequest(`unexpected field "${name}"`));
      fields.set(name, value);
    });
    parser.on('fieldsLimit', () => fail(badRequest(form.otherFields)));
    parser.on('filesLimit', () =>
      fail(tooLarge(`the request has more than ${options.maxFiles} files (MAX_UPLOAD_FILES)`)),
    );
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('error', () => {}); // the parser reports the cause
      if (form.fields.some((field) => !fields.has(field))) {
        stream.resume();
        return fail(badRequest('the operations and map parts must come before the files'));
      }
      stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        received += chunk.byteLength;
        if (received > options.maxRequestBytes) {
          return fail(
            tooLarge(
              `the files are over the limit of ${options.maxRequestBytes} bytes per request (MAX_REQUEST_BYTES)`,
            ),
          );
        }
        chunks.push(chunk);
      });
      stream.on('limit', () => {
        const what = info.filename ? `"${info.filename}"` : `part ${name}`;
        fail(tooLarge(`the file ${what} is over the limit of ${options.maxFileBytes} bytes (MAX_UPLOAD_BYTES)`));
      });
      stream.on('end', () => {
        if (!failed) files.set(name, new UploadedFile(Buffer.concat(chunks), info.filename));
      });
    });
    parser.on('close', () => {
      if (failed) return;
      stopWatching();
      req.off('data', count);
      try {
        resolve(form.read(fields, files));
      } catch (error) {
        fail(error as RequestError);
      }
    });
    req.on('aborted', () => fail(badRequest('the request body ended early')));
    req.on('error', () => fail(badRequest('the request body ended early')));
    req.on('data', count);
    req.pipe(parser);
  });
}

/** The operations with each file put at the paths the map gives for it. */
function placeFiles(fields: Map<string, string>, files: Map<string, UploadedFile>): unknown {
  const operations = parseJson(fields.get('operations'), 'operations');
  const map = parseJson(fields.get('map'), 'map');
  if (typeof operations !== 'object' || operations === null) throw badRequest('operations must be a JSON object');
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw badRequest('map must be a JSON object');
  for (const [part, paths] of Object.entries(map)) {
    const file = files.get(part);
    if (!file) throw badRequest(`the map names file part "${part}", but the request has no such part`);
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) {
      throw badRequest(`map["${part}"] must be a list of paths such as "variables.file"`);
    }
    for (const path of paths as string[]) placeAt(operations, path, file);
    files.delete(part);
  }
  const [unmapped] = files.keys();
  if (unmapped !== undefined) throw badRequest(`file part "${unmapped}" is not named in the map`);
  return operations;
}

/** Puts the file where the operations hold a null placeholder, and nowhere else. */
function placeAt(operations: object, path: string, file: UploadedFile): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let target: unknown = operations;
  for (const key of keys) target = ownValue(target, key);
  if (ownValue(target, last) !== null) throw badRequest(`the map path "${path}" does not name a null variable`);
  (target as Record<string, unknown>)[last] = file;
}

function ownValue(target: unknown, key: string): unknown {
  if (typeof target !== 'object' || target === null || !Object.hasOwn(target, key)) return undefined;
  return (target as Record<string, unknown>)[key];
}

function parseJson(text: string | undefined, name: string): unknown {
  if (text === undefined) throw badRequest(`the ${name} part is missing`);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the ${name} part is not valid JSON`);
  }
}

const badRequest = (message: string) => new RequestError(400, message);
const tooLarge = (message: string) => new RequestError(413, message);
