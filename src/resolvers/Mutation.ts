import { GraphQLError } from 'graphql';
import type { MutationResolvers } from '../__generated__/resolvers-types.js';
import { readUpload } from '../services/upload-input.js';
import * as input from '../validation.js';

export const Mutation: MutationResolvers = {
  uploadImage: async (_, { file }, { services }) => {
    const incoming = await readUpload(file, services.settings.MAX_UPLOAD_BYTES);
    const [outcome] = await services.uploads.uploadAll([incoming]);
    return outcome!;
  },

  uploadImages: async (_, { files }, { services }) => {
    const max = services.settings.MAX_UPLOAD_FILES;
    if (files.length === 0 || files.length > max) {
      throw new GraphQLError(`send between 1 and ${max} files`, {
        extensions: { code: 'BAD_USER_INPUT', field: 'files' },
      });
    }
    const incoming = await Promise.all(files.map((f) => readUpload(f, services.settings.MAX_UPLOAD_BYTES)));
    return services.uploads.uploadAll(incoming);
  },

  deleteImage: async (_, args, { services }) => {
    const id = input.imageId(args.id);
    const { deleted, version } = await services.dataset.delete(id);
    return { id, deleted, version };
  },

  restoreVersion: (_, args, { services }) => services.dataset.restore(input.version(args.version)!),

  createVectorIndex: (_, args, { services }) => services.dataset.createVectorIndex(args.type ?? 'IVF_PQ'),

  optimizeDataset: (_, __, { services }) => services.dataset.optimize(),
};
