import type { SearchHitResolvers } from '../__generated__/resolvers-types.js';

export const SearchHit: SearchHitResolvers = {
  score: (hit) => 1 - hit.distance,
};
