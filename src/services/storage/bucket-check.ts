import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Where the service's objects are, and the settings that decide how they are reached. */
export interface BucketTarget {
  /** DATA_URI as configured. */
  uri: string;
  bucket: string;
  /** The key prefix, without a trailing slash. */
  prefix: string;
  /** S3_ENDPOINT, when set (else AWS's endpoint for `region`). */
  endpoint?: string;
  region: string;
}

/** What to check when the bucket answers but refuses. */
export const S3_SETTINGS_HINT =
  'Check S3_ENDPOINT, AWS_REGION, and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the AWS credential chain).';

/** Node's codes for a failed TLS handshake or certificate check. */
const TLS_CODES = /^(EPROTO|ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/**
 * One listing of the prefix at start, with the service's own client, before Lance touches the
 * bucket. Lance's failures for the same causes come after seconds of retries, as a dump of its
 * error chain (and, behind the read endpoint, as that endpoint's 502): this one fails within
 * `withinMs` and names the setting and what happened in a line.
 */
export async function checkBucket(client: S3Client, target: BucketTarget, withinMs: number): Promise<void> {
  const listing = new ListObjectsV2Command({
    Bucket: target.bucket,
    Prefix: target.prefix ? `${target.prefix}/` : '',
    MaxKeys: 1,
  });
  try {
    await client.send(listing, { abortSignal: AbortSignal.timeout(withinMs) });
  } catch (error) {
    // No `cause`: the logger would append its text (the SDK's, or OpenSSL's) to the one line.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(describeFailure(error as Error & Record<string, unknown>, target, withinMs));
  }
}

function describeFailure(error: Error & Record<string, unknown>, target: BucketTarget, withinMs: number): string {
  if (error.name === 'CredentialsProviderError') {
    return (
      `DATA_URI ${target.uri}: no S3 credentials. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ` +
      '(or AWS_PROFILE, or run where the AWS credential chain finds them).'
    );
  }
  const status = (error.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
  if (status) {
    // S3 names its refusal in the error's name (AccessDenied, NoSuchBucket, InvalidAccessKeyId...).
    const code = error.name && error.name !== 'Unknown' && error.name !== 'UnknownError' ? ` ${error.name}` : '';
    return `DATA_URI ${target.uri}: the dataset cannot be opened (the bucket answered ${status}${code}). ${S3_SETTINGS_HINT}`;
  }
  const where = target.endpoint
    ? `S3_ENDPOINT ${target.endpoint}`
    : `the S3 endpoint of AWS_REGION ${target.region} (S3_ENDPOINT is not set)`;
  return `${where}: cannot reach it for DATA_URI ${target.uri} (${transportFailure(error, withinMs)}).`;
}

/** What went wrong below HTTP, in words: connection refused, DNS, TLS, no answer. */
function transportFailure(error: Error & Record<string, unknown>, withinMs: number): string {
  const code = typeof error.code === 'string' ? error.code : '';
  if (error.name === 'AbortError' || error.name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return `no answer within ${withinMs / 1000} s`;
  }
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'the connection was reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return `DNS: host ${String(error.hostname ?? '')} not found`.replace('  ', ' ');
  }
  if (TLS_CODES.test(code)) {
    // OpenSSL's reason is the part before its source location ("...:wrong version number:../deps/...").
    const reason = /:([^:]+):[^:]*:\d+:?\s*$/.exec(error.message)?.[1] ?? error.message;
    const plain = reason.includes('wrong version number') ? ' (does the endpoint speak http:// only?)' : '';
    return `TLS: ${reason.slice(0, 120)}${plain}`;
  }
  return error.message.split('\n')[0]!.slice(0, 160);
}
