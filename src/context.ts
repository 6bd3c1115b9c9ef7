import DataLoader from 'dataloader';
import type { Services } from './services/index.js';

/** What every resolver gets: the long-lived services and this request's loaders. */
export interface GraphQLContext {
  services: Services;
  /** The client is on this machine (a loopback address), or the operation runs in-process. */
  clientIsLocal: boolean;
  loaders: {
    /** Live rows per dataset version, batched across all versions a request selects. */
    rowCount: DataLoader<number, number>;
  };
}

/** Builds the per-request context; loaders memoise within one request only. */
export function createContext(services: Services, { clientIsLocal = true } = {}): GraphQLContext {
  return {
    services,
    clientIsLocal,
    loaders: {
      rowCount: new DataLoader((versions) => services.catalog.rowCounts(versions)),
    },
  };
}
