import { cacheControlFromInfo, type CacheHint } from '@apollo/cache-control-types';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';

/** A year: the longest max-age worth sending (caches treat anything longer alike). */
const IMMUTABLE_MAX_AGE = 31_536_000;

/**
 * The Cache-Control of GraphQL answers. A Query field given a `version` reads a dataset version,
 * which never changes, so its answer may be kept by any cache for a year: reads are open to every
 * client (API_KEY guards only mutations), so it is public. Every other root field keeps Apollo's
 * default of 0; types marked `@cacheControl(inheritMaxAge: true)` in the SDL pass their field's
 * hint down. The answer takes the least of its fields' hints, so one read of the latest version
 * makes it `no-store`, as do errors, mutations and POSTs (only GET answers are cached by URL).
 */
export function cachePolicy(): ApolloServerPlugin[] {
  // Apollo's plugin computes the policy; the header is ours, to add `immutable`. Apollo calls
  // willResolveField hooks in reverse order of the plugins: Apollo's, listed last, gives each field
  // the `info.cacheControl` that versionPinnedReads then sets.
  return [versionPinnedReads, ApolloServerPluginCacheControl({ defaultMaxAge: 0, calculateHttpHeaders: false })];
}

const versionPinnedReads: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async executionDidStart() {
        return {
          willResolveField({ info, args }) {
            if (info.parentType === info.schema.getQueryType() && args.version != null) {
              cacheControlFromInfo(info).setCacheHint({ maxAge: IMMUTABLE_MAX_AGE, scope: 'PUBLIC' });
            }
          },
        };
      },
      async willSendResponse({ request, response, overallCachePolicy }) {
        const policy = overallCachePolicy.policyIfCacheable();
        const cacheable =
          policy &&
          request.http?.method === 'GET' &&
          response.body.kind === 'single' &&
          !response.body.singleResult.errors;
        response.http.headers.set('cache-control', cacheable ? cacheControl(policy) : 'no-store');
        // Apollo picks the content type by Accept (application/json or graphql-response+json).
        if (cacheable) response.http.headers.set('vary', 'accept');
      },
    };
  },
};

function cacheControl({ maxAge, scope }: Required<CacheHint>): string {
  const immutable = maxAge >= IMMUTABLE_MAX_AGE ? ', immutable' : '';
  return `${scope.toLowerCase()}, max-age=${maxAge}${immutable}`;
}
