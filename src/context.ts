import type { Services } from './services/index.js';

/** What every resolver gets: the long-lived services. */
export interface GraphQLContext {
  services: Services;
  /** The client is on this machine (a loopback address), or the operation runs in-process. */
  clientIsLocal: boolean;
}

/** Builds the per-request context. */
export function createContext(services: Services, { clientIsLocal = true } = {}): GraphQLContext {
  return { services, clientIsLocal };
}
