import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed resolvers from the SDL, bound to the service models through mappers. */
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/__generated__/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: true,
        useTypeImports: true,
        enumsAsTypes: true,
        contextType: '../context.js#GraphQLContext',
        scalars: {
          Upload: '../services/upload-input.js#UploadedFile',
          DateTime: 'Date',
        },
        mappers: {
          Image: '../services/image-record.js#ImageRecord',
          SearchHit: '../services/catalog.js#SearchHitRecord',
          SearchResult: '../services/search.js#SearchOutcome',
          UploadResult: '../services/uploads.js#UploadOutcome',
          DatasetVersion: '../services/dataset-history.js#VersionInfo',
          Dataset: '../services/catalog.js#DatasetInfo',
          DatasetIndex: '../services/catalog.js#IndexInfo',
        },
      },
    },
  },
};

export default config;
