/**
 * Every GraphQL operation the UI sends, typed from schema/ by `npm run codegen` (web/src/lib/gql/).
 * Lists are sized to stay well inside the service's query cost limit (src/limits.ts).
 */
import { graphql } from '../gql';

export const SearchImages = graphql(`
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
`);

export const NewestImages = graphql(`
  query NewestImages($limit: Int!, $offset: Int!, $version: Int) {
    images(limit: $limit, offset: $offset, version: $version, orderBy: NEWEST_FIRST) {
      id
      filename
      thumbnailUrl
    }
  }
`);

export const ImageDetails = graphql(`
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
`);

export const SimilarImages = graphql(`
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
`);

/** A page of the history: the newest `limit` versions before `before`, oldest first. */
export const Versions = graphql(`
  query Versions($limit: Int, $before: Int) {
    versions(limit: $limit, before: $before) {
      version
      timestamp
      operation
      rowCount
    }
  }
`);

export const DatasetOverview = graphql(`
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
`);

export const UploadImages = graphql(`
  mutation UploadImages($files: [Upload!]!) {
    uploadImages(files: $files) {
      created
      image {
        id
      }
    }
  }
`);

export const DeleteImage = graphql(`
  mutation DeleteImage($id: ID!) {
    deleteImage(id: $id) {
      deleted
      version
    }
  }
`);

export const RestoreVersion = graphql(`
  mutation RestoreVersion($version: Int!) {
    restoreVersion(version: $version) {
      version
    }
  }
`);

export const CreateVectorIndex = graphql(`
  mutation CreateVectorIndex {
    createVectorIndex {
      version
    }
  }
`);

export const OptimizeDataset = graphql(`
  mutation OptimizeDataset {
    optimizeDataset {
      version
      fragmentCount
    }
  }
`);
