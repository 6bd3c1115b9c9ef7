import type { ImageResolvers } from '../__generated__/resolvers-types.js';
import { thumbnailKey } from '../services/images/image-key.js';

export const Image: ImageResolvers = {
  url: (image) => `/${image.key}`,
  thumbnailUrl: (image) => `/${thumbnailKey(image.id)}`,
  vector: (image) => Array.from(image.vector ?? []),
};
