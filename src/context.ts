import type { Services } from './services/index.js';

/** What every resolver gets: the long-lived services. */
export interface GraphQLContext {
  services: Services;
}

/** Builds the per-request context. */
export function createContext(services: Services): GraphQLContext {
  return { services };
}
