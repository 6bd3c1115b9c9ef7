/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query SearchImages($text: String!, $limit: Int!, $version: Int) {\n    search(text: $text, limit: $limit, version: $version) {\n      query\n      version\n      tookMs\n      cached\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n": typeof types.SearchImagesDocument,
    "\n  query NewestImages($limit: Int!, $offset: Int!, $version: Int) {\n    images(limit: $limit, offset: $offset, version: $version, orderBy: NEWEST_FIRST) {\n      id\n      filename\n      thumbnailUrl\n    }\n  }\n": typeof types.NewestImagesDocument,
    "\n  query ImageDetails($id: ID!, $version: Int) {\n    image(id: $id, version: $version) {\n      id\n      url\n      filename\n      contentType\n      size\n      width\n      height\n      createdAt\n    }\n  }\n": typeof types.ImageDetailsDocument,
    "\n  query SimilarImages($id: ID!, $limit: Int!, $version: Int) {\n    similarImages(id: $id, limit: $limit, version: $version) {\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n": typeof types.SimilarImagesDocument,
    "\n  query Versions($limit: Int, $before: Int) {\n    versions(limit: $limit, before: $before) {\n      version\n      timestamp\n      operation\n      rowCount\n    }\n  }\n": typeof types.VersionsDocument,
    "\n  query DatasetOverview {\n    dataset {\n      uri\n      version\n      rowCount\n      fragmentCount\n      files {\n        path\n        size\n        kind\n      }\n      indexDetails {\n        name\n        type\n        columns\n        unindexedRows\n        state\n      }\n    }\n  }\n": typeof types.DatasetOverviewDocument,
    "\n  mutation UploadImages($files: [Upload!]!) {\n    uploadImages(files: $files) {\n      created\n      image {\n        id\n      }\n    }\n  }\n": typeof types.UploadImagesDocument,
    "\n  mutation DeleteImage($id: ID!) {\n    deleteImage(id: $id) {\n      deleted\n      version\n    }\n  }\n": typeof types.DeleteImageDocument,
    "\n  mutation RestoreVersion($version: Int!) {\n    restoreVersion(version: $version) {\n      version\n    }\n  }\n": typeof types.RestoreVersionDocument,
    "\n  mutation CreateVectorIndex {\n    createVectorIndex {\n      version\n    }\n  }\n": typeof types.CreateVectorIndexDocument,
    "\n  mutation OptimizeDataset {\n    optimizeDataset {\n      version\n      fragmentCount\n    }\n  }\n": typeof types.OptimizeDatasetDocument,
};
const documents: Documents = {
    "\n  query SearchImages($text: String!, $limit: Int!, $version: Int) {\n    search(text: $text, limit: $limit, version: $version) {\n      query\n      version\n      tookMs\n      cached\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n": types.SearchImagesDocument,
    "\n  query NewestImages($limit: Int!, $offset: Int!, $version: Int) {\n    images(limit: $limit, offset: $offset, version: $version, orderBy: NEWEST_FIRST) {\n      id\n      filename\n      thumbnailUrl\n    }\n  }\n": types.NewestImagesDocument,
    "\n  query ImageDetails($id: ID!, $version: Int) {\n    image(id: $id, version: $version) {\n      id\n      url\n      filename\n      contentType\n      size\n      width\n      height\n      createdAt\n    }\n  }\n": types.ImageDetailsDocument,
    "\n  query SimilarImages($id: ID!, $limit: Int!, $version: Int) {\n    similarImages(id: $id, limit: $limit, version: $version) {\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n": types.SimilarImagesDocument,
    "\n  query Versions($limit: Int, $before: Int) {\n    versions(limit: $limit, before: $before) {\n      version\n      timestamp\n      operation\n      rowCount\n    }\n  }\n": types.VersionsDocument,
    "\n  query DatasetOverview {\n    dataset {\n      uri\n      version\n      rowCount\n      fragmentCount\n      files {\n        path\n        size\n        kind\n      }\n      indexDetails {\n        name\n        type\n        columns\n        unindexedRows\n        state\n      }\n    }\n  }\n": types.DatasetOverviewDocument,
    "\n  mutation UploadImages($files: [Upload!]!) {\n    uploadImages(files: $files) {\n      created\n      image {\n        id\n      }\n    }\n  }\n": types.UploadImagesDocument,
    "\n  mutation DeleteImage($id: ID!) {\n    deleteImage(id: $id) {\n      deleted\n      version\n    }\n  }\n": types.DeleteImageDocument,
    "\n  mutation RestoreVersion($version: Int!) {\n    restoreVersion(version: $version) {\n      version\n    }\n  }\n": types.RestoreVersionDocument,
    "\n  mutation CreateVectorIndex {\n    createVectorIndex {\n      version\n    }\n  }\n": types.CreateVectorIndexDocument,
    "\n  mutation OptimizeDataset {\n    optimizeDataset {\n      version\n      fragmentCount\n    }\n  }\n": types.OptimizeDatasetDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchImages($text: String!, $limit: Int!, $version: Int) {\n    search(text: $text, limit: $limit, version: $version) {\n      query\n      version\n      tookMs\n      cached\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').SearchImagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NewestImages($limit: Int!, $offset: Int!, $version: Int) {\n    images(limit: $limit, offset: $offset, version: $version, orderBy: NEWEST_FIRST) {\n      id\n      filename\n      thumbnailUrl\n    }\n  }\n"): typeof import('./graphql').NewestImagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ImageDetails($id: ID!, $version: Int) {\n    image(id: $id, version: $version) {\n      id\n      url\n      filename\n      contentType\n      size\n      width\n      height\n      createdAt\n    }\n  }\n"): typeof import('./graphql').ImageDetailsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SimilarImages($id: ID!, $limit: Int!, $version: Int) {\n    similarImages(id: $id, limit: $limit, version: $version) {\n      hits {\n        score\n        image {\n          id\n          filename\n          thumbnailUrl\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').SimilarImagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Versions($limit: Int, $before: Int) {\n    versions(limit: $limit, before: $before) {\n      version\n      timestamp\n      operation\n      rowCount\n    }\n  }\n"): typeof import('./graphql').VersionsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DatasetOverview {\n    dataset {\n      uri\n      version\n      rowCount\n      fragmentCount\n      files {\n        path\n        size\n        kind\n      }\n      indexDetails {\n        name\n        type\n        columns\n        unindexedRows\n        state\n      }\n    }\n  }\n"): typeof import('./graphql').DatasetOverviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UploadImages($files: [Upload!]!) {\n    uploadImages(files: $files) {\n      created\n      image {\n        id\n      }\n    }\n  }\n"): typeof import('./graphql').UploadImagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteImage($id: ID!) {\n    deleteImage(id: $id) {\n      deleted\n      version\n    }\n  }\n"): typeof import('./graphql').DeleteImageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestoreVersion($version: Int!) {\n    restoreVersion(version: $version) {\n      version\n    }\n  }\n"): typeof import('./graphql').RestoreVersionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateVectorIndex {\n    createVectorIndex {\n      version\n    }\n  }\n"): typeof import('./graphql').CreateVectorIndexDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation OptimizeDataset {\n    optimizeDataset {\n      version\n      fragmentCount\n    }\n  }\n"): typeof import('./graphql').OptimizeDatasetDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
