import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Caches } from './cache.js';
import type { DatasetSummary, ImageCatalog } from './catalog/catalog.js';
import type { ReadEndpointStats } from './storage/read-endpoint.js';

const PREFIX = 'lance_image_search_';

/**
 * Distinct operation names that get a label value of their own; names first seen after these
 * count as `(other)`. Clients choose the names, so without a cap each new one would be a new
 * time series in every scraper.
 */
export const MAX_OPERATION_NAMES = 50;

/**
 * The web UI's operations (web/src/lib/api/operations.ts; a test keeps the two in step). They keep
 * their own label whatever other clients send first, so that no client can push them into
 * `(other)` by claiming the first MAX_OPERATION_NAMES names after a start.
 */
export const KNOWN_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateVectorIndex',
  'DatasetOverview',
  'DeleteImage',
  'ImageDetails',
  'NewestImages',
  'OptimizeDataset',
  'RestoreVersion',
  'SearchImages',
  'SimilarImages',
  'UploadImages',
  'Versions',
]);
/** A longer name is no one's dashboard label: it counts as `(other)` too. */
const MAX_OPERATION_NAME_LENGTH = 64;

type ObjectStoreOperation = 'put' | 'get' | 'exists' | 'list' | 'delete';
type CommitOperation = 'append' | 'delete' | 'restore' | 'fold';
export type ModelInput = 'text' | 'image';

/** What a scrape reads from the running services. */
export interface MetricSources {
  catalog: Pick<ImageCatalog, 'summary' | 'cacheBytes'>;
  caches: Caches;
  /** The S3 read endpoint's counts, when reads go through it. */
  readEndpoint?: () => ReadEndpointStats;
}

/**
 * The service's Prometheus metrics, in a registry of its own (several service instances share
 * a test process, so nothing goes into prom-client's global registry). Events are counted where
 * they happen, through the methods below; figures the services keep anyway (cache hits, the
 * object cache's size, the dataset's version) are read when scraped.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  private readonly operations = new Counter({
    name: `${PREFIX}graphql_operations_total`,
    help: 'GraphQL operations answered, by operation name and type, and whether the answer carried errors',
    labelNames: ['operation_name', 'operation_type', 'result'] as const,
    registers: [this.registry],
  });
  private readonly operationSeconds = new Histogram({
    name: `${PREFIX}graphql_operation_duration_seconds`,
    help: 'Time from the start of a GraphQL request to its answer',
    labelNames: ['operation_name', 'operation_type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly modelBatchSize = new Histogram({
    name: `${PREFIX}model_pass_batch_size`,
    help: 'Inputs per forward pass of the embedding model; the count is the number of passes',
    labelNames: ['input'] as const,
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });
  private readonly modelSeconds = new Histogram({
    name: `${PREFIX}model_pass_duration_seconds`,
    help: 'Time of one forward pass of the embedding model',
    labelNames: ['input'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly commitRows = new Histogram({
    name: `${PREFIX}commit_rows`,
    help: 'Rows appended or deleted per dataset commit (0 for a restore); the count is the number of commits',
    labelNames: ['operation'] as const,
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });
  private readonly commitRetries = new Counter({
    name: `${PREFIX}commit_conflict_retries_total`,
    help: 'Commits tried again after losing a race to an incompatible commit of another process',
    registers: [this.registry],
  });
  private readonly relayedRows = new Counter({
    name: `${PREFIX}relayed_append_rows_total`,
    help: 'Rows this replica handed to the lease holder to commit (committed_by="holder"), or committed itself after a hand-off failed (committed_by="here")',
    labelNames: ['committed_by'] as const,
    registers: [this.registry],
  });
  private readonly objectRequests = new Counter({
    name: `${PREFIX}object_store_requests_total`,
    help: 'Calls to the image object store (local disk or S3), by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  private readonly objectBytes = new Counter({
    name: `${PREFIX}object_store_bytes_total`,
    help: 'Bytes written to (put) and opened for reading from (get) the image object store',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  /** The bytes of upload bodies held in memory now (src/http/upload-admission.ts), read at scrape time. */
  observeUploadBuffer(heldBytes: () => number): void {
    new Gauge({
      name: `${PREFIX}upload_buffer_bytes`,
      help: 'Bytes of upload bodies held in memory now, from their first byte to their answer (UPLOAD_BUFFER_BYTES bounds it)',
      registers: [this.registry],
      collect() {
        this.set(heldBytes());
      },
    });
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Called once, when the services are up: registers the metrics whose figures the services keep
   * anyway, read at scrape time. Until then they are absent, rather than zeros that would read
   * as an empty dataset.
   */
  observe({ catalog, caches, readEndpoint }: MetricSources): void {
    const registers = [this.registry];
    const datasetGauge = (name: string, help: string, pick: (s: DatasetSummary) => number) =>
      new Gauge({
        name: `${PREFIX}dataset_${name}`,
        help,
        registers,
        async collect() {
          // A failed read (storage down) keeps the last figure rather than failing the scrape.
          const summary = await catalog.summary().catch(() => undefined);
          if (summary) this.set(pick(summary));
        },
      });
    datasetGauge('version', 'Latest version of the Lance dataset this process sees', (s) => s.version);
    datasetGauge('rows', 'Live rows in the latest version', (s) => s.rowCount);
    new Gauge({
      name: `${PREFIX}lance_cache_bytes`,
      help: "Bytes in Lance's index and metadata caches (LANCE_INDEX_CACHE_BYTES and LANCE_METADATA_CACHE_BYTES bound them)",
      registers,
      collect() {
        this.set(catalog.cacheBytes());
      },
    });
    datasetGauge('fragments', 'Fragments in the latest version (compaction merges small ones)', (s) => s.fragmentCount);

    const counted = (name: string, help: string, labelNames: string[], read: () => CountsByLabel) =>
      new Counter({
        name: `${PREFIX}${name}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, value] of read()) this.inc(labels, value);
        },
      });
    const cacheCounts = (kind: 'hits' | 'misses'): CountsByLabel => [
      [{ cache: 'text_embedding' }, caches.embeddings.stats[kind]],
      [{ cache: 'search_result' }, caches.results.stats[kind]],
      ...(readEndpoint ? [[{ cache: 'object' }, readEndpoint().cache[kind]] as const] : []),
    ];
    counted('cache_hits_total', 'Cache lookups answered from the cache', ['cache'], () => cacheCounts('hits'));
    counted('cache_misses_total', 'Cache lookups the cache held nothing for', ['cache'], () => cacheCounts('misses'));
    if (!readEndpoint) return;

    counted(
      'read_endpoint_requests_total',
      'S3 read endpoint requests, by where they were served from',
      ['source'],
      () => {
        const { served } = readEndpoint();
        return [
          [{ source: 'cache' }, served.cache],
          [{ source: 'bucket' }, served.bucket],
        ];
      },
    );
    counted('object_cache_evictions_total', 'Object cache entries evicted to stay within its bound', [], () => [
      [{}, readEndpoint().cache.evictions],
    ]);
    new Gauge({
      name: `${PREFIX}object_cache_bytes`,
      help: 'Bytes the object cache holds on local disk, with fills in progress',
      registers,
      collect() {
        this.set(readEndpoint().cache.bytes);
      },
    });
  }

  /**
   * Counts one answered GraphQL operation. `operation` is absent when the request never resolved
   * to one (unparsable, invalid, or naming no operation of its document).
   */
  operationAnswered(
    operation: { name: string | null; type: string } | undefined,
    failed: boolean,
    seconds: number,
  ): void {
    const labels = {
      operation_name: operation ? this.operationLabel(operation.name) : '(invalid)',
      operation_type: operation?.type ?? 'unknown',
    };
    this.operations.inc({ ...labels, result: failed ? 'error' : 'ok' });
    this.operationSeconds.observe(labels, seconds);
  }

  /** Starts timing a forward pass of `size` inputs; call the result when it ends. */
  modelPass(input: ModelInput, size: number): () => void {
    this.modelBatchSize.observe({ input }, size);
    return this.modelSeconds.startTimer({ input });
  }

  committed(operation: CommitOperation, rows: number): void {
    this.commitRows.observe({ operation }, rows);
  }

  appendsRelayed(committedBy: 'holder' | 'here', rows: number): void {
    this.relayedRows.inc({ committed_by: committedBy }, rows);
  }

  commitConflictRetried(): void {
    this.commitRetries.inc();
  }

  objectStoreRequest(operation: ObjectStoreOperation): void {
    this.objectRequests.inc({ operation });
  }

  objectStoreBytes(operation: 'put' | 'get', bytes: number): void {
    this.objectBytes.inc({ operation }, bytes);
  }

  /** GraphQL names cannot hold parentheses, so the made-up values never collide with a real name. */
  private operationLabel(name: string | null): string {
    if (name === null) return '(anonymous)';
    if (KNOWN_OPERATIONS.has(name) || this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES || name.length > MAX_OPERATION_NAME_LENGTH) return '(other)';
    this.operationNames.add(name);
    return name;
  }
}

type CountsByLabel = ReadonlyArray<readonly [Record<string, string>, number]>;
