import { parseQuery } from './s3-upstream.js';

/** What the read endpoint serves: the objects under the service's own DATA_URI, nothing else. */
export interface ReadScope {
  bucket: string;
  /** The key prefix, without a trailing slash; empty when DATA_URI is the whole bucket. */
  prefix: string;
}

/** The ListObjectsV2 parameters Lance's S3 client sends; any other (`?acl`, `?versions`...) is refused. */
const LIST_PARAMS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'continuation-token',
  'start-after',
  'max-keys',
  'encoding-type',
  'fetch-owner',
]);

/**
 * Null when a read stays within the scope; otherwise why not. Allowed: GETs and HEADs of objects
 * under the prefix (no sub-resources such as `?acl`), and ListObjectsV2 of the bucket with a prefix under it.
 * Every other shape (ListBuckets, another bucket, a key outside, `..` segments a gateway might
 * resolve) is refused, so the real credentials behind the endpoint reach nothing else.
 */
export function outOfScope(rawPath: string, query: string, scope: ReadScope): string | null {
  const within = scope.prefix ? `${scope.prefix}/` : '';
  const refused = `the read endpoint serves only s3://${scope.bucket}/${within}`;
  const [root, bucket, ...keySegments] = rawPath.split('/');
  if (root !== '' || bucket !== scope.bucket) return refused;
  const params = decodeQuery(query);
  if (!params) return `${refused} (a malformed or ambiguous query)`;
  if (keySegments.length === 0 || (keySegments.length === 1 && keySegments[0] === '')) {
    const listed = params.get('prefix') ?? '';
    const listing = params.get('list-type') === '2' && [...params.keys()].every((name) => LIST_PARAMS.has(name));
    return listing && listed.startsWith(within) ? null : refused;
  }
  // `x-id` names the operation for the AWS SDKs' logs; S3 ignores it. Every other one is a sub-resource.
  if ([...params.keys()].some((name) => name !== 'x-id')) return refused;
  const key = decodeSegments(keySegments);
  if (key === null || key.split('/').some((s) => s === '.' || s === '..')) return refused;
  return key.startsWith(within) ? null : refused;
}

/**
 * The query's parameters, or null when S3 might read them otherwise than this check does: a
 * name twice, a raw `+` (a space to some gateways), or a broken escape.
 */
function decodeQuery(query: string): Map<string, string> | null {
  if (query.includes('+')) return null;
  const pairs = query.split('&').filter(Boolean);
  try {
    const params = new Map(Object.entries(parseQuery(query)));
    return params.size === pairs.length ? params : null;
  } catch {
    return null;
  }
}

function decodeSegments(segments: string[]): string | null {
  try {
    return segments.map(decodeURIComponent).join('/');
  } catch {
    return null;
  }
}
