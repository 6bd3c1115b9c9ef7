import type { DatasetVersionResolvers } from '../__generated__/resolvers-types.js';

export const DatasetVersion: DatasetVersionResolvers = {
  rowCount: (v, _, { loaders }) => loaders.rowCount.load(v.version),
};
