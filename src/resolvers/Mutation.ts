import type { MutationResolvers } from '../__generated__/resolvers-types.js';
import * as input from '../validation.js';

export const Mutation: MutationResolvers = {
  uploadImage: async (_, { file }, { services }) => {
    const [outcome] = await services.uploads.uploadAll([input.upload(file)]);
    return outcome!;
  },

  uploadImages: (_, { files }, { services }) => services.uploads.uploadAll(input.uploads(files)),

  deleteImage: async (_, args, { services }) => {
    const id = input.imageId(args.id);
    const { deleted, version } = await services.dataset.delete(id);
    return { id, deleted, version };
  },

  restoreVersion: (_, args, { services }) => services.dataset.restore(input.version(args.version)!),

  createVectorIndex: (_, args, { services }) =>
    services.dataset.createVectorIndex(args.type ?? services.dataset.defaultIndexType),

  optimizeDataset: (_, __, { services }) => services.dataset.optimize(),
};
