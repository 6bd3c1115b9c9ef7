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
          Upload: '../services/images/upload-input.js#UploadedFile',
          DateTime: 'Date',
        },
        mappers: {
          Image: '../services/catalog/image-record.js#ImageRecord',
          SearchHit: '../services/catalog/catalog.js#SearchHitRecord',
          SearchResult: '../services/search.js#SearchOutcome',
          UploadResult: '../services/images/uploads.js#UploadOutcome',
          DatasetVersion: '../services/catalog/dataset-history.js#VersionInfo',
          Dataset: '../services/catalog/catalog.js#DatasetInfo',
          DatasetIndex: '../services/catalog/catalog.js#IndexInfo',
        },
      },
    },
  },
};

export default config;
