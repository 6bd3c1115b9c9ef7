import type { UploadedFile } from '../services/images/upload-input.js';
import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { ImageRecord } from '../services/catalog/image-record.js';
import type { SearchHitRecord, DatasetInfo, IndexInfo } from '../services/catalog/catalog.js';
import type { SearchOutcome } from '../services/search.js';
import type { UploadOutcome } from '../services/images/uploads.js';
import type { VersionInfo } from '../services/catalog/dataset-history.js';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * An instant in time: an RFC 3339 date-time string (the ISO 8601 profile), e.g. 2024-05-01T12:30:00.000Z.
   * Sent in UTC with milliseconds; accepted with any offset.
   */
  DateTime: { input: Date; output: Date; }
  /** An upload: a file part of a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec). */
  Upload: { input: UploadedFile; output: UploadedFile; }
};

/** Who may cache an answer. */
export type CacheControlScope =
  /** Only the client's own cache. */
  | 'PRIVATE'
  /** Any cache, shared ones (CDNs, proxies) included. */
  | 'PUBLIC';

/** An image format detected from the bytes, by the MIME type Image.contentType reports for it. */
export type ContentType =
  /** image/avif */
  | 'AVIF'
  /** image/gif */
  | 'GIF'
  /** image/jpeg */
  | 'JPEG'
  /** image/png */
  | 'PNG'
  /** image/tiff */
  | 'TIFF'
  /** image/webp */
  | 'WEBP';

/** The Lance dataset behind the service, as it is now. */
export type Dataset = {
  __typename?: 'Dataset';
  /** Every file under images.lance/, with size and kind. */
  files: Array<DatasetFile>;
  /** Number of fragments (data files grow one per append until compaction). */
  fragmentCount: Scalars['Int']['output'];
  /** The indices with their type and coverage. */
  indexDetails: Array<DatasetIndex>;
  /** Names of the indices. */
  indices: Array<Scalars['String']['output']>;
  /** Live rows. */
  rowCount: Scalars['Int']['output'];
  /** Where the dataset lives. */
  uri: Scalars['String']['output'];
  /** Current version. */
  version: Scalars['Int']['output'];
};

/** A file under images.lance/. */
export type DatasetFile = {
  __typename?: 'DatasetFile';
  /** data | manifest | transaction | deletion | index | other */
  kind: Scalars['String']['output'];
  /** Path relative to images.lance/. */
  path: Scalars['String']['output'];
  /** Size in bytes. */
  size: Scalars['Float']['output'];
};

/** A vector or scalar index on the dataset. */
export type DatasetIndex = {
  __typename?: 'DatasetIndex';
  /** Indexed columns. */
  columns: Array<Scalars['String']['output']>;
  /**
   * Index name. Vector indices built by this service record their plan in it:
   * vector_{type}_p{partitions}_t{rows trained on}, e.g. vector_ivf_hnsw_sq_p24_t100000.
   */
  name: Scalars['String']['output'];
  /** When the build in progress started; null for a ready index. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /**
   * READY, or BUILDING while this service builds it beside the writer (searches and uploads go on,
   * with the previous index or a scan, until the new one is committed).
   */
  state: IndexState;
  /** Index type, e.g. IvfPq, IvfFlat, IvfHnswSq or BTree. */
  type: Scalars['String']['output'];
  /** Rows in fragments the index does not cover yet (searched by brute force until the next optimize); null while building. */
  unindexedRows?: Maybe<Scalars['Int']['output']>;
};

/** A version of the Lance dataset: every commit makes one, and each can still be read. */
export type DatasetVersion = {
  __typename?: 'DatasetVersion';
  /**
   * What made it, from the transaction its manifest records: Create, Append, Delete, Restore,
   * Compact (the newest small fragments folded into one), Optimize (an optimize's compaction: it
   * reserves fragment ids, then rewrites them), or Index (an index built, replaced or dropped, or
   * brought up to date with new rows as an optimize's last step). A commit another tool made gets
   * Lance's name for it (such as UpdateConfig); null when the manifest records no transaction.
   */
  operation?: Maybe<Scalars['String']['output']>;
  /** Live rows in this version, from its manifest: no data is read. */
  rowCount: Scalars['Int']['output'];
  /** When the version was committed. */
  timestamp: Scalars['DateTime']['output'];
  /** Version number, starting at 1. */
  version: Scalars['Int']['output'];
};

/** Inclusive bounds on an instant; either may be left out. */
export type DateTimeRange = {
  /** The earliest instant kept. */
  from?: InputMaybe<Scalars['DateTime']['input']>;
  /** The latest instant kept. */
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

/** The outcome of a delete. */
export type DeleteResult = {
  __typename?: 'DeleteResult';
  /** True when a row was deleted. */
  deleted: Scalars['Boolean']['output'];
  /** The id that was deleted. */
  id: Scalars['ID']['output'];
  /** The dataset version that holds the deletion. */
  version: Scalars['Int']['output'];
};

/**
 * An image stored once by the sha256 of its bytes, with its CLIP embedding.
 * Every field maps to a column of the Lance dataset; only the selected columns are read.
 */
export type Image = {
  __typename?: 'Image';
  /** MIME type from the format detected in the bytes, never from the client. */
  contentType: Scalars['String']['output'];
  /** When the image was first stored. */
  createdAt: Scalars['DateTime']['output'];
  /** The file name the client sent, if any. */
  filename?: Maybe<Scalars['String']['output']>;
  /** Height in pixels. */
  height: Scalars['Int']['output'];
  /** Lowercase hex sha256 of the uploaded bytes. */
  id: Scalars['ID']['output'];
  /** Object key under the storage root: images/{sha256}.{ext}, ext from the detected format. */
  key: Scalars['String']['output'];
  /** Size in bytes. */
  size: Scalars['Int']['output'];
  /**
   * Root-relative URL of a WebP preview at most 320 pixels on its long side, for grids of results
   * (immutable, cacheable forever). Made at upload; for images stored before thumbnails existed, on
   * first request.
   */
  thumbnailUrl: Scalars['String']['output'];
  /** Root-relative URL where this service serves the bytes (immutable, cacheable forever). */
  url: Scalars['String']['output'];
  /** The L2-normalised CLIP embedding. Read from Lance only when selected. */
  vector: Array<Scalars['Float']['output']>;
  /** Width in pixels. */
  width: Scalars['Int']['output'];
};

/**
 * Which images a read keeps: every condition given must hold. Applied inside Lance before the
 * search or the page, so a filtered search still returns `limit` hits when that many match.
 */
export type ImageFilter = {
  /** Any of these content types (at least one). */
  contentTypes?: InputMaybe<Array<ContentType>>;
  /** When the image was first stored. */
  createdAt?: InputMaybe<DateTimeRange>;
  /** A substring of the file name, 1 to 255 characters, regardless of case; images without a name never match. */
  filenameContains?: InputMaybe<Scalars['String']['input']>;
  /** Height in pixels. */
  height?: InputMaybe<IntRange>;
  /** Size in bytes. */
  size?: InputMaybe<IntRange>;
  /** Width in pixels. */
  width?: InputMaybe<IntRange>;
};

/** The order of a page of images. */
export type ImageOrder =
  /** Newest upload first: storage order, reversed. */
  | 'NEWEST_FIRST'
  /** The order rows are stored in: oldest upload first (compaction keeps it). */
  | 'STORAGE';

/** The order of `images`, by upload. */
export type ImageOrderBy =
  /** Newest upload first. */
  | 'NEWEST_FIRST'
  /** Oldest upload first: the order rows are stored in. */
  | 'OLDEST_FIRST';

/** Whether an index is in use or still being built. */
export type IndexState =
  /** Being built by this service; not used by searches yet. */
  | 'BUILDING'
  /** Committed: searches use it. */
  | 'READY';

/** Inclusive bounds on a whole number, 0 or more; either may be left out. */
export type IntRange = {
  /** The greatest value kept. */
  max?: InputMaybe<Scalars['Int']['input']>;
  /** The least value kept. */
  min?: InputMaybe<Scalars['Int']['input']>;
};

/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Build (or rebuild) a vector index on the vector column, planned for the rows there are now.
   * The service builds one by itself once the dataset reaches INDEX_MIN_ROWS, and retrains it once
   * the dataset has doubled since.
   */
  createVectorIndex: Dataset;
  /** Delete an image's row through a Lance deletion file. The bytes stay for older versions. */
  deleteImage: DeleteResult;
  /** Compact small fragments and bring indices up to date with new rows. */
  optimizeDataset: Dataset;
  /** Make an older version's content current again, as a new version. */
  restoreVersion: DatasetVersion;
  /** Store one image (once per content), embed it and add it to the dataset. */
  uploadImage: UploadResult;
  /** Store several images; they are committed together as one dataset version where possible. */
  uploadImages: Array<UploadResult>;
};


/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type MutationCreateVectorIndexArgs = {
  type?: InputMaybe<VectorIndexType>;
};


/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type MutationDeleteImageArgs = {
  id: Scalars['ID']['input'];
};


/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type MutationRestoreVersionArgs = {
  version: Scalars['Int']['input'];
};


/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type MutationUploadImageArgs = {
  file: Scalars['Upload']['input'];
};


/**
 * The writes: each commits a new dataset version (older versions stay readable). With API_KEY set,
 * they need `Authorization: Bearer <key>`. Uploads are GraphQL multipart requests; mutations are
 * refused over GET and their answers never cached.
 */
export type MutationUploadImagesArgs = {
  files: Array<Scalars['Upload']['input']>;
};

/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type Query = {
  __typename?: 'Query';
  /** The dataset: version, size, files and indices. */
  dataset: Dataset;
  /** One image by id, or null when there is none. */
  image?: Maybe<Image>;
  /** A page of images, in the order asked for. */
  images: Array<Image>;
  /** Images closest to a text description (CLIP text embedding). */
  search: SearchResult;
  /** Images closest to a stored image, the image itself left out. */
  similarImages: SearchResult;
  /**
   * The dataset's versions, a page at a time: the newest `limit` versions before `before`, oldest
   * first. Each is read from its own manifest, once per process; a page costs its `limit` in
   * manifest reads, whatever it selects.
   */
  versions: Array<DatasetVersion>;
};


/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type QueryImageArgs = {
  id: Scalars['ID']['input'];
  version?: InputMaybe<Scalars['Int']['input']>;
};


/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type QueryImagesArgs = {
  filter?: InputMaybe<ImageFilter>;
  limit?: InputMaybe<Scalars['Int']['input']>;
  offset?: InputMaybe<Scalars['Int']['input']>;
  order?: InputMaybe<ImageOrder>;
  orderBy?: InputMaybe<ImageOrderBy>;
  version?: InputMaybe<Scalars['Int']['input']>;
};


/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type QuerySearchArgs = {
  exact?: InputMaybe<Scalars['Boolean']['input']>;
  filter?: InputMaybe<ImageFilter>;
  limit?: InputMaybe<Scalars['Int']['input']>;
  text: Scalars['String']['input'];
  version?: InputMaybe<Scalars['Int']['input']>;
};


/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type QuerySimilarImagesArgs = {
  exact?: InputMaybe<Scalars['Boolean']['input']>;
  filter?: InputMaybe<ImageFilter>;
  id: Scalars['ID']['input'];
  limit?: InputMaybe<Scalars['Int']['input']>;
  version?: InputMaybe<Scalars['Int']['input']>;
};


/**
 * The reads. They are open to every client (API_KEY guards only the mutations). A read given a
 * `version` reads that dataset version, which never changes: over GET, such an answer is served with
 * `Cache-Control: public, max-age=31536000, immutable`. Reads of the latest version are `no-store`.
 */
export type QueryVersionsArgs = {
  before?: InputMaybe<Scalars['Int']['input']>;
  limit?: InputMaybe<Scalars['Int']['input']>;
};

/** One image found by a vector search. */
export type SearchHit = {
  __typename?: 'SearchHit';
  /** Cosine distance to the query vector (0 is identical, 2 is opposite). */
  distance: Scalars['Float']['output'];
  /** The image that matched. */
  image: Image;
  /** Cosine similarity to the query vector, 1 - distance: higher is closer. */
  score: Scalars['Float']['output'];
};

/** The answer to a vector search. */
export type SearchResult = {
  __typename?: 'SearchResult';
  /** True when the hits came from the search-result cache rather than from Lance. */
  cached: Scalars['Boolean']['output'];
  /** The closest images, best first. */
  hits: Array<SearchHit>;
  /** The text searched for; null for similarImages. */
  query?: Maybe<Scalars['String']['output']>;
  /** Milliseconds the service spent answering, including embedding and cache lookups. */
  tookMs: Scalars['Float']['output'];
  /** The dataset version that was searched. */
  version: Scalars['Int']['output'];
};

/** The outcome of one upload. */
export type UploadResult = {
  __typename?: 'UploadResult';
  /** False when the same bytes were already stored: no new row was added. */
  created: Scalars['Boolean']['output'];
  /** The stored image (the existing one when the same bytes were already stored). */
  image: Image;
};

/** Vector index types Lance can build on the vector column. Every search re-ranks its hits on full vectors, so distances are exact. */
export type VectorIndexType =
  /** Inverted file with full vectors: larger, exact within the probed partitions. */
  | 'IVF_FLAT'
  /** Inverted file with an HNSW graph per partition over scalar-quantised vectors: the default, recall@10 ~0.99 at 100k rows. */
  | 'IVF_HNSW_SQ'
  /** Inverted file with product quantisation (4 dimensions per code): smallest, slowest to build; recall@10 ~0.95 at 100k rows. */
  | 'IVF_PQ';

export type WithIndex<TObject> = TObject & Record<string, any>;
export type ResolversObject<TObject> = WithIndex<TObject>;

export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  CacheControlScope: CacheControlScope;
  ContentType: ContentType;
  Dataset: ResolverTypeWrapper<DatasetInfo>;
  DatasetFile: ResolverTypeWrapper<DatasetFile>;
  DatasetIndex: ResolverTypeWrapper<IndexInfo>;
  DatasetVersion: ResolverTypeWrapper<VersionInfo>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DateTimeRange: DateTimeRange;
  DeleteResult: ResolverTypeWrapper<DeleteResult>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Image: ResolverTypeWrapper<ImageRecord>;
  ImageFilter: ImageFilter;
  ImageOrder: ImageOrder;
  ImageOrderBy: ImageOrderBy;
  IndexState: IndexState;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  IntRange: IntRange;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  SearchHit: ResolverTypeWrapper<SearchHitRecord>;
  SearchResult: ResolverTypeWrapper<SearchOutcome>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
  UploadResult: ResolverTypeWrapper<UploadOutcome>;
  VectorIndexType: VectorIndexType;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  Boolean: Scalars['Boolean']['output'];
  Dataset: DatasetInfo;
  DatasetFile: DatasetFile;
  DatasetIndex: IndexInfo;
  DatasetVersion: VersionInfo;
  DateTime: Scalars['DateTime']['output'];
  DateTimeRange: DateTimeRange;
  DeleteResult: DeleteResult;
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  Image: ImageRecord;
  ImageFilter: ImageFilter;
  Int: Scalars['Int']['output'];
  IntRange: IntRange;
  Mutation: Record<PropertyKey, never>;
  Query: Record<PropertyKey, never>;
  SearchHit: SearchHitRecord;
  SearchResult: SearchOutcome;
  String: Scalars['String']['output'];
  Upload: Scalars['Upload']['output'];
  UploadResult: UploadOutcome;
}>;

export type CacheControlDirectiveArgs = {
  inheritMaxAge?: Maybe<Scalars['Boolean']['input']>;
  maxAge?: Maybe<Scalars['Int']['input']>;
  scope?: Maybe<CacheControlScope>;
};

export type CacheControlDirectiveResolver<Result, Parent, ContextType = GraphQLContext, Args = CacheControlDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type DatasetResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Dataset'] = ResolversParentTypes['Dataset']> = ResolversObject<{
  files?: Resolver<Array<ResolversTypes['DatasetFile']>, ParentType, ContextType>;
  fragmentCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  indexDetails?: Resolver<Array<ResolversTypes['DatasetIndex']>, ParentType, ContextType>;
  indices?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  rowCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  uri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type DatasetFileResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DatasetFile'] = ResolversParentTypes['DatasetFile']> = ResolversObject<{
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  path?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type DatasetIndexResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DatasetIndex'] = ResolversParentTypes['DatasetIndex']> = ResolversObject<{
  columns?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['IndexState'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  unindexedRows?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
}>;

export type DatasetVersionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DatasetVersion'] = ResolversParentTypes['DatasetVersion']> = ResolversObject<{
  operation?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  rowCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  timestamp?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type DeleteResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DeleteResult'] = ResolversParentTypes['DeleteResult']> = ResolversObject<{
  deleted?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type ImageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Image'] = ResolversParentTypes['Image']> = ResolversObject<{
  contentType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  filename?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  thumbnailUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  vector?: Resolver<Array<ResolversTypes['Float']>, ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  createVectorIndex?: Resolver<ResolversTypes['Dataset'], ParentType, ContextType, RequireFields<MutationCreateVectorIndexArgs, 'type'>>;
  deleteImage?: Resolver<ResolversTypes['DeleteResult'], ParentType, ContextType, RequireFields<MutationDeleteImageArgs, 'id'>>;
  optimizeDataset?: Resolver<ResolversTypes['Dataset'], ParentType, ContextType>;
  restoreVersion?: Resolver<ResolversTypes['DatasetVersion'], ParentType, ContextType, RequireFields<MutationRestoreVersionArgs, 'version'>>;
  uploadImage?: Resolver<ResolversTypes['UploadResult'], ParentType, ContextType, RequireFields<MutationUploadImageArgs, 'file'>>;
  uploadImages?: Resolver<Array<ResolversTypes['UploadResult']>, ParentType, ContextType, RequireFields<MutationUploadImagesArgs, 'files'>>;
}>;

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  dataset?: Resolver<ResolversTypes['Dataset'], ParentType, ContextType>;
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType, RequireFields<QueryImageArgs, 'id'>>;
  images?: Resolver<Array<ResolversTypes['Image']>, ParentType, ContextType, RequireFields<QueryImagesArgs, 'limit' | 'offset' | 'orderBy'>>;
  search?: Resolver<ResolversTypes['SearchResult'], ParentType, ContextType, RequireFields<QuerySearchArgs, 'exact' | 'limit' | 'text'>>;
  similarImages?: Resolver<ResolversTypes['SearchResult'], ParentType, ContextType, RequireFields<QuerySimilarImagesArgs, 'exact' | 'id' | 'limit'>>;
  versions?: Resolver<Array<ResolversTypes['DatasetVersion']>, ParentType, ContextType, RequireFields<QueryVersionsArgs, 'limit'>>;
}>;

export type SearchHitResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SearchHit'] = ResolversParentTypes['SearchHit']> = ResolversObject<{
  distance?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  image?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type SearchResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SearchResult'] = ResolversParentTypes['SearchResult']> = ResolversObject<{
  cached?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hits?: Resolver<Array<ResolversTypes['SearchHit']>, ParentType, ContextType>;
  query?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  tookMs?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type UploadResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['UploadResult'] = ResolversParentTypes['UploadResult']> = ResolversObject<{
  created?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  image?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
}>;

export type Resolvers<ContextType = GraphQLContext> = ResolversObject<{
  Dataset?: DatasetResolvers<ContextType>;
  DatasetFile?: DatasetFileResolvers<ContextType>;
  DatasetIndex?: DatasetIndexResolvers<ContextType>;
  DatasetVersion?: DatasetVersionResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  DeleteResult?: DeleteResultResolvers<ContextType>;
  Image?: ImageResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  SearchHit?: SearchHitResolvers<ContextType>;
  SearchResult?: SearchResultResolvers<ContextType>;
  Upload?: GraphQLScalarType;
  UploadResult?: UploadResultResolvers<ContextType>;
}>;

export type DirectiveResolvers<ContextType = GraphQLContext> = ResolversObject<{
  cacheControl?: CacheControlDirectiveResolver<any, any, ContextType>;
}>;
