import DataLoader from 'dataloader';
import type { Services } from './services/index.js';

/** What every resolver gets: the long-lived services and this request's loaders. */
export interface GraphQLContext {
  services: Services;
  loaders: {
    /** Live rows per dataset version, batched across all versions a request selects. */
    rowCount: DataLoader<number, number>;
  };
}

/** Builds the per-request context; loaders memoise within one request only. */
export function createContext(services: Services): GraphQLContext {
  return {
    services,
    loaders: {
      rowCount: new DataLoader((versions) => services.catalog.rowCounts(versions)),
    },
  };
}
