import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import { imageColumns } from '../projection.js';
import { MAX_HITS, MAX_PAGE, MAX_VERSIONS_PAGE } from '../limits.js';
import * as input from '../validation.js';

export const Query: QueryResolvers = {
  search: (_, args, { services }, info) =>
    services.search.byText(input.searchText(args.text), {
      limit: input.limit(args.limit, MAX_HITS, 10),
      version: input.version(args.version),
      columns: imageColumns(info, ['hits', 'image']),
      exact: args.exact ?? false,
      filter: input.imageFilter(args.filter),
    }),

  similarImages: (_, args, { services }, info) =>
    services.search.similarTo(input.imageId(args.id), {
      limit: input.limit(args.limit, MAX_HITS, 10),
      version: input.version(args.version),
      columns: imageColumns(info, ['hits', 'image']),
      exact: args.exact ?? false,
      filter: input.imageFilter(args.filter),
    }),

  image: async (_, args, { services }, info) => {
    const id = input.imageId(args.id);
    const found = await services.catalog.get([id], imageColumns(info), input.version(args.version));
    return found.get(id) ?? null;
  },

  images: (_, args, { services }, info) =>
    services.catalog.list(
      input.limit(args.limit, MAX_PAGE, 50),
      input.offset(args.offset),
      imageColumns(info),
      input.version(args.version),
      { newestFirst: input.newestFirst(args.orderBy, args.order), filter: input.imageFilter(args.filter) },
    ),

  versions: (_, args, { services }) =>
    services.catalog.versions({
      limit: input.limit(args.limit, MAX_VERSIONS_PAGE, 100),
      before: input.version(args.before, 'before'),
    }),

  dataset: (_, __, { services }) => services.catalog.describe(),
};
