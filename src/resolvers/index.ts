import type { Resolvers } from '../__generated__/resolvers-types.js';
import { Dataset } from './Dataset.js';
import { Image } from './Image.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { DateTime, Upload } from './scalars.js';
import { SearchHit } from './SearchHit.js';

export const resolvers: Resolvers = {
  Upload,
  DateTime,
  Query,
  Mutation,
  Image,
  SearchHit,
  Dataset,
};
