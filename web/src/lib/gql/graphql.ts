/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Whether an index is in use or still being built. */
export type IndexState =
  /** Being built by this service; not used by searches yet. */
  | 'BUILDING'
  /** Committed: searches use it. */
  | 'READY';

export type SearchImagesQueryVariables = Exact<{
  text: string;
  limit: number;
  version?: number | null | undefined;
}>;


export type SearchImagesQuery = { search: { query: string | null, version: number, tookMs: number, cached: boolean, hits: Array<{ score: number, image: { id: string, filename: string | null, thumbnailUrl: string } }> } };

export type NewestImagesQueryVariables = Exact<{
  limit: number;
  offset: number;
  version?: number | null | undefined;
}>;


export type NewestImagesQuery = { images: Array<{ id: string, filename: string | null, thumbnailUrl: string }> };

export type ImageDetailsQueryVariables = Exact<{
  id: string | number;
  version?: number | null | undefined;
}>;


export type ImageDetailsQuery = { image: { id: string, url: string, filename: string | null, contentType: string, size: number, width: number, height: number, createdAt: string } | null };

export type SimilarImagesQueryVariables = Exact<{
  id: string | number;
  limit: number;
  version?: number | null | undefined;
}>;


export type SimilarImagesQuery = { similarImages: { hits: Array<{ score: number, image: { id: string, filename: string | null, thumbnailUrl: string } }> } };

export type VersionsQueryVariables = Exact<{
  limit?: number | null | undefined;
  before?: number | null | undefined;
}>;


export type VersionsQuery = { versions: Array<{ version: number, timestamp: string, operation: string | null, rowCount: number }> };

export type DatasetOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type DatasetOverviewQuery = { dataset: { uri: string, version: number, rowCount: number, fragmentCount: number, files: Array<{ path: string, size: number, kind: string }>, indexDetails: Array<{ name: string, type: string, columns: Array<string>, unindexedRows: number | null, state: IndexState }> } };

export type UploadImagesMutationVariables = Exact<{
  files: Array<File> | File;
}>;


export type UploadImagesMutation = { uploadImages: Array<{ created: boolean, image: { id: string } }> };

export type DeleteImageMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteImageMutation = { deleteImage: { deleted: boolean, version: number } };

export type RestoreVersionMutationVariables = Exact<{
  version: number;
}>;


export type RestoreVersionMutation = { restoreVersion: { version: number } };

export type CreateVectorIndexMutationVariables = Exact<{ [key: string]: never; }>;


export type CreateVectorIndexMutation = { createVectorIndex: { version: number } };

export type OptimizeDatasetMutationVariables = Exact<{ [key: string]: never; }>;


export type OptimizeDatasetMutation = { optimizeDataset: { version: number, fragmentCount: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const SearchImagesDocument = new TypedDocumentString(`
    query SearchImages($text: String!, $limit: Int!, $version: Int) {
  search(text: $text, limit: $limit, version: $version) {
    query
    version
    tookMs
    cached
    hits {
      score
      image {
        id
        filename
        thumbnailUrl
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SearchImagesQuery, SearchImagesQueryVariables>;
export const NewestImagesDocument = new TypedDocumentString(`
    query NewestImages($limit: Int!, $offset: Int!, $version: Int) {
  images(limit: $limit, offset: $offset, version: $version, orderBy: NEWEST_FIRST) {
    id
    filename
    thumbnailUrl
  }
}
    `) as unknown as TypedDocumentString<NewestImagesQuery, NewestImagesQueryVariables>;
export const ImageDetailsDocument = new TypedDocumentString(`
    query ImageDetails($id: ID!, $version: Int) {
  image(id: $id, version: $version) {
    id
    url
    filename
    contentType
    size
    width
    height
    createdAt
  }
}
    `) as unknown as TypedDocumentString<ImageDetailsQuery, ImageDetailsQueryVariables>;
export const SimilarImagesDocument = new TypedDocumentString(`
    query SimilarImages($id: ID!, $limit: Int!, $version: Int) {
  similarImages(id: $id, limit: $limit, version: $version) {
    hits {
      score
      image {
        id
        filename
        thumbnailUrl
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SimilarImagesQuery, SimilarImagesQueryVariables>;
export const VersionsDocument = new TypedDocumentString(`
    query Versions($limit: Int, $before: Int) {
  versions(limit: $limit, before: $before) {
    version
    timestamp
    operation
    rowCount
  }
}
    `) as unknown as TypedDocumentString<VersionsQuery, VersionsQueryVariables>;
export const DatasetOverviewDocument = new TypedDocumentString(`
    query DatasetOverview {
  dataset {
    uri
    version
    rowCount
    fragmentCount
    files {
      path
      size
      kind
    }
    indexDetails {
      name
      type
      columns
      unindexedRows
      state
    }
  }
}
    `) as unknown as TypedDocumentString<DatasetOverviewQuery, DatasetOverviewQueryVariables>;
export const UploadImagesDocument = new TypedDocumentString(`
    mutation UploadImages($files: [Upload!]!) {
  uploadImages(files: $files) {
    created
    image {
      id
    }
  }
}
    `) as unknown as TypedDocumentString<UploadImagesMutation, UploadImagesMutationVariables>;
export const DeleteImageDocument = new TypedDocumentString(`
    mutation DeleteImage($id: ID!) {
  deleteImage(id: $id) {
    deleted
    version
  }
}
    `) as unknown as TypedDocumentString<DeleteImageMutation, DeleteImageMutationVariables>;
export const RestoreVersionDocument = new TypedDocumentString(`
    mutation RestoreVersion($version: Int!) {
  restoreVersion(version: $version) {
    version
  }
}
    `) as unknown as TypedDocumentString<RestoreVersionMutation, RestoreVersionMutationVariables>;
export const CreateVectorIndexDocument = new TypedDocumentString(`
    mutation CreateVectorIndex {
  createVectorIndex {
    version
  }
}
    `) as unknown as TypedDocumentString<CreateVectorIndexMutation, CreateVectorIndexMutationVariables>;
export const OptimizeDatasetDocument = new TypedDocumentString(`
    mutation OptimizeDataset {
  optimizeDataset {
    version
    fragmentCount
  }
}
    `) as unknown as TypedDocumentString<OptimizeDatasetMutation, OptimizeDatasetMutationVariables>;