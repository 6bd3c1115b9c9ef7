import type { ApolloServerPlugin } from '@apollo/server';
import { createHash, timingSafeEqual } from 'node:crypto';
import { unauthenticated } from '../errors.js';

/** True when API_KEY is unset, or the Authorization header carries it (compared in constant time). */
export function authorized(header: string | null | undefined, apiKey: string | undefined): boolean {
  if (!apiKey) return true;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${apiKey}`));
}

/** With API_KEY set, mutations need `Authorization: Bearer <key>`; queries stay open. */
export function requireApiKeyForMutations(apiKey: string | undefined): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation?.operation !== 'mutation') return;
          if (!authorized(request.http?.headers.get('authorization'), apiKey)) throw unauthenticated();
        },
      };
    },
  };
}
