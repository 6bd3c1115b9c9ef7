import type { DatasetResolvers } from '../__generated__/resolvers-types.js';

export const Dataset: DatasetResolvers = {
  indices: (dataset) => dataset.indices.map((index) => index.name),
  indexDetails: (dataset) => dataset.indices,
};
