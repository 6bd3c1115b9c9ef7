import type { ImageResolvers } from '../__generated__/resolvers-types.js';

export const Image: ImageResolvers = {
  url: (image) => `/${image.key}`,
  vector: (image) => Array.from(image.vector ?? []),
};
