import { S3ServiceException } from '@aws-sdk/client-s3';

/**
 * The one place that reads the failures of the storage libraries (Lance, the AWS SDK, Node's fs
 * and sockets) and turns them into the domain's errors below; everything else catches those. Lance
 * tells its failures apart by message only (its error code is GenericFailure for all of them), so
 * the patterns here are the only ones in the code base that match its text.
 */

/**
 * The storage could not be reached, read or written just now: an outage, a timeout, a full or
 * read-only disk, refused credentials. Nothing half-written is visible, and retrying later is safe.
 * The message is safe to show a client; the library's own text stays in `cause`, for the log.
 */
export class StorageUnavailableError extends Error {}

/** Another writer's commit came first and Lance refused this one: reload, and try again. */
export class CommitConflictError extends Error {}

/** What was asked for is not in storage: an object, a dataset version's manifest, a file. */
export class NotInStorageError extends Error {}

/** A file was read but is not what was written: truncated, a failed checksum, undecodable. */
export class DamagedFileError extends Error {}

/**
 * A write on the condition that nothing is stored under the key found something (S3's 412 to
 * `If-None-Match: *`, or its 409 to a conditional write racing another; a file that exists).
 */
export class AlreadyInStorageError extends Error {}

type DomainError =
  StorageUnavailableError | CommitConflictError | NotInStorageError | DamagedFileError | AlreadyInStorageError;

const FULL = 'the storage is full';
const READ_ONLY = 'the storage is read-only';
const REFUSED = 'the storage refused access';
const UNREACHABLE = 'the storage could not be reached';

/** Node's error codes (fs, sockets, the AWS SDK's connections) that say the storage is unavailable. */
const UNAVAILABLE_CODES: Record<string, string> = {
  ENOSPC: FULL,
  EDQUOT: FULL,
  EROFS: READ_ONLY,
  EACCES: REFUSED,
  EPERM: REFUSED,
  ...Object.fromEntries(
    [
      'EIO',
      'ENOTDIR',
      'ENXIO',
      'ESTALE',
      'EMFILE',
      'ENFILE',
      'ECONNREFUSED',
      'ECONNRESET',
      'ECONNABORTED',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
    ].map((code) => [code, UNREACHABLE]),
  ),
};

/** Lance's messages, tried in order: the first pattern that matches decides. */
const LANCE_PATTERNS: Array<[RegExp, (cause: unknown) => DomainError]> = [
  [
    /incompatible transaction|commit conflict|retryable/i,
    (cause) => new CommitConflictError('a concurrent commit came first', { cause }),
  ],
  [/No space left on device|os error (28|122)\b|quota exceeded/i, (cause) => unavailable(FULL, cause)],
  [/Read-only file system|os error 30\b/i, (cause) => unavailable(READ_ONLY, cause)],
  [/Permission denied|os error (1|13)\b|status(?: code)?: 40[13]\b/i, (cause) => unavailable(REFUSED, cause)],
  [
    /status(?: code)?: (5\d\d|408|429)\b|error sending request|connection (refused|reset|closed)|timed out|dns error|broken pipe|Not a directory|Input\/output error|Too many open files|os error (5|20|24)\b/i,
    (cause) => unavailable(UNREACHABLE, cause),
  ],
  [/was not found|not found:|status(?: code)?: 404\b|No such file|os error 2\b/i, (cause) => notInStorage(cause)],
  [
    /LanceError\(Arrow\)|whole buffer|unexpected end|checksum|decode/i,
    (cause) => new DamagedFileError('a damaged file', { cause }),
  ],
  // Any other failure of the object store layer under Lance (local disk or bucket).
  [/LanceError\(IO\)|Generic \w+ error/i, (cause) => unavailable(UNREACHABLE, cause)],
];

/**
 * `error` as the domain's error, with the library's error as its cause; an error that is none of
 * these (a bad query, a bug) comes back as it is.
 */
export function storageFailure(error: unknown): Error {
  if (isDomainError(error)) return error;
  return (
    fromNode(error) ?? fromS3(error) ?? fromLance(error) ?? (error instanceof Error ? error : new Error(String(error)))
  );
}

/** Rethrows `error` as the domain's error: `promise.catch(throwStorageFailure)`. */
export function throwStorageFailure(error: unknown): never {
  throw storageFailure(error);
}

function isDomainError(error: unknown): error is DomainError {
  return [
    StorageUnavailableError,
    CommitConflictError,
    NotInStorageError,
    DamagedFileError,
    AlreadyInStorageError,
  ].some((type) => error instanceof type);
}

function fromNode(error: unknown): DomainError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'ENOENT') return notInStorage(error);
  if (code === 'EEXIST') return new AlreadyInStorageError('already in storage', { cause: error });
  const reason = UNAVAILABLE_CODES[code];
  return reason ? unavailable(reason, error) : null;
}

/** The AWS SDK: S3's answer by its status, and the SDK's own time-outs. */
function fromS3(error: unknown): DomainError | null {
  const name = (error as Error | null)?.name;
  if (name === 'TimeoutError' || name === 'RequestTimeout') return unavailable(UNREACHABLE, error);
  if (!(error instanceof S3ServiceException)) return null;
  const status = error.$metadata.httpStatusCode ?? 0;
  if (status === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound') return notInStorage(error);
  if (status === 409 || status === 412) return new AlreadyInStorageError('already in storage', { cause: error });
  if (status === 401 || status === 403) return unavailable(REFUSED, error);
  if (status >= 500 || status === 408 || status === 429) return unavailable(UNREACHABLE, error);
  return null;
}

function fromLance(error: unknown): DomainError | null {
  const text = String((error as Error | null)?.message ?? error);
  const match = LANCE_PATTERNS.find(([pattern]) => pattern.test(text));
  return match ? match[1](error) : null;
}

function notInStorage(cause: unknown): NotInStorageError {
  return new NotInStorageError('not in storage', { cause });
}

function unavailable(reason: string, cause: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`${reason}; retrying later is safe`, { cause });
}

/** What the bucket answered (an HTTP status and S3's error code) in a failure, when it answered at all. */
export function bucketAnswer(error: unknown): string | undefined {
  if (error instanceof S3ServiceException) return `${error.$metadata.httpStatusCode} ${error.name}`;
  // From Lance's dump.
  const text = String((error as Error | null)?.message ?? error);
  const answered = [/status(?: code)?: (\d{3})/.exec(text)?.[1], /<Code>([^<]+)<\/Code>/.exec(text)?.[1]];
  return answered.some(Boolean) ? answered.filter(Boolean).join(' ') : undefined;
}
