import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * From the SDL: typed resolvers bound to the service models through mappers, and the web UI's
 * typed operations (so a schema change that breaks the UI fails `npm run typecheck`).
 */
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
    // Plain strings rather than parsed documents: no GraphQL library in the browser bundle.
    'web/src/lib/gql/': {
      documents: ['web/src/lib/api/operations.ts'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', Upload: 'File' },
      },
    },
  },
};

export default config;
