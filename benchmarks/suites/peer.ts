import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageCatalog } from '../../src/services/catalog/catalog.js';
import { COLUMNS, fromLanceRow, type NewImageRow } from '../../src/services/catalog/image-record.js';
import { parseIndexName, queryPlan } from '../../src/services/catalog/vector-index.js';
import type { Services } from '../../src/services/index.js';
import { manifestPath, versionFiles } from '../../src/services/storage/lance-manifest.js';
import { testModelDir } from '../../test/support/harness.js';
import { startServiceProcess } from '../../test/support/service-process.js';
import { GraphQLClient } from '../lib/graphql-client.js';
import { openServices } from '../lib/harness.js';
import { searchStages, type SearchStages } from '../lib/lance-plan.js';
import { PgvectorPeer, type Explained, type PeerSearcher } from '../lib/pgvector.js';
import { HIT_COLUMNS, K, exactNeighbours, recall } from '../lib/search-probes.js';
import { alternatingThroughput, interleavedLatencies } from '../lib/side-by-side.js';
import { summarise, timed } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings } from '../lib/synthetic.js';
import { peerReport } from './peer-report.js';
import { QUIET, buildDataset } from './scale.js';
import { lanceReader } from '../../src/services/catalog/test-access.js';

/** pgvector's `hnsw.ef_search` values tried; the smallest that reaches our recall is compared. */
const EF_SEARCH = [10, 20, 40, 60, 80, 100, 150, 200, 300, 400];
const CLIENTS = 8;
/** Throughput rounds per contender, alternating, each over new queries. */
const ROUNDS = 3;
const WARM_UP = 20;
/** Queries analyzed stage by stage. */
const STAGE_QUERIES = 20;
const SIMILAR = `query ($id: ID!) { similarImages(id: $id, limit: ${K}) { cached hits { distance image { id url filename width height } } } }`;

export interface PeerPlan {
  rows: number;
  /** Single-client queries (recall is measured on these). */
  queries: number;
  /** Queries per throughput round. */
  throughputQueries: number;
}

const planFor = (ctx: SuiteContext): PeerPlan =>
  ctx.quick
    ? { rows: 3000, queries: 50, throughputQueries: 200 }
    : { rows: ctx.rows ?? 100_000, queries: 200, throughputQueries: 1000 };

/**
 * The service's search beside pgvector's (issue 15): the same synthetic rows as the scale suite
 * in both, each with its own index (ours: the service's default plan; pgvector: HNSW by cosine),
 * pgvector's ef_search swept to match our recall@10, then single-client latency and 8-client
 * throughput at the engine (LanceDB's API with the service's query plan / one SQL statement
 * through `pg`) and at the service (GraphQL `similarImages` over HTTP / one SQL statement).
 */
export const peerSuite: Suite = {
  name: 'peer',
  skip: (ctx) =>
    ctx.pgUrl ? undefined : 'it needs a PostgreSQL with pgvector: --pg-url postgres://user@host:port/database',
  async run(ctx) {
    const plan = planFor(ctx);
    const peer = await PgvectorPeer.open(ctx.pgUrl!);
    const local = await openServices(ctx.model, QUIET);
    try {
      const settings = await peer.describe();
      const embeddings = new SyntheticEmbeddings(ctx.model.dimension, { seed: 7 });
      const ours = await buildOurs(local, embeddings, plan.rows, ctx);
      // The first `queries` are the scale suite's held-out queries; the rest feed throughput.
      const queries = Array.from({ length: plan.queries }, () => embeddings.next());
      const warmUp = Array.from({ length: WARM_UP }, () => embeddings.next());
      const rounds = Array.from({ length: ROUNDS }, () =>
        Array.from({ length: plan.throughputQueries }, () => embeddings.next()),
      );
      const theirs = await buildPeer(peer, local.catalog, ctx);
      ctx.log(`exact neighbours of ${plan.queries} queries`);
      const exact = await exactNeighbours(local.catalog, queries);
      const engine = await compareEngines(local.catalog, peer, { queries, warmUp, rounds, exact }, ctx);
      const searcher = peer.searcher(engine.efSearch, CLIENTS);
      try {
        const service = await compareServices(local, searcher, plan, ctx);
        const figures = { plan, dimension: ctx.model.dimension, settings, build: { ours, theirs }, engine, service };
        return peerReport(figures);
      } finally {
        await searcher.close();
      }
    } finally {
      await local.close();
      await peer.close({ drop: true });
    }
  },
};

/** The scale suite's dataset (fill, compaction, default index, timed) and its bytes on disk. */
async function buildOurs(services: Services, embeddings: SyntheticEmbeddings, rows: number, ctx: SuiteContext) {
  const build = await buildDataset(services, embeddings, rows, ctx);
  return { ...build, searchableMs: build.fillMs + build.compactionMs + build.indexMs, ...(await ourSizes(services)) };
}

/** Bytes of the files the latest version reads (older versions are kept for time travel), and of its vector index. */
async function ourSizes(services: Services) {
  const info = await services.catalog.describe();
  const manifest = await readFile(path.join(info.uri, manifestPath(info.version)));
  const { files, unlistedIndexDirs } = versionFiles(manifest);
  const live = info.files.filter(
    (f) => files.includes(f.path) || unlistedIndexDirs.some((d) => f.path.startsWith(`${d}/`)),
  );
  const { table } = await lanceReader(services.catalog);
  const vector = (await table.listIndices()).find((i) => i.columns.includes('vector'));
  const sum = (list: typeof live) => list.reduce((total, f) => total + f.size, 0);
  return {
    totalBytes: sum(live),
    vectorIndexBytes: sum(live.filter((f) => f.path.startsWith(`_indices/${vector?.indexUuid}/`))),
  };
}

/** Our rows, read back from the dataset, copied into pgvector; then its index, timed. */
async function buildPeer(peer: PgvectorPeer, catalog: ImageCatalog, ctx: SuiteContext) {
  await peer.reset(ctx.model.dimension);
  ctx.log('copying the rows into pgvector');
  const load = await timed(() => peer.load(storedRows(catalog)));
  ctx.log('building the HNSW index in pgvector');
  const index = await timed(() => peer.buildIndex());
  const prewarmed = await peer.prewarm();
  return {
    rows: load.value,
    loadMs: load.ms,
    indexMs: index.ms,
    searchableMs: load.ms + index.ms,
    prewarmed,
    ...(await peer.sizes()),
  };
}

async function* storedRows(catalog: ImageCatalog): AsyncIterable<NewImageRow[]> {
  const { table } = await lanceReader(catalog);
  for await (const batch of table.query().select([...COLUMNS])) {
    yield batch.toArray().map((row: Record<string, unknown>) => fromLanceRow(row) as NewImageRow);
  }
}

/** A search as the service runs it (catalog.search), without the service around it: the engine alone. */
async function ourEngine(catalog: ImageCatalog) {
  const { table } = await lanceReader(catalog);
  const index = (await table.listIndices()).find((i) => i.columns.includes('vector'));
  const indexPlan = index ? parseIndexName(index.name) : null;
  const query = (vector: ArrayLike<number>, limit = K) => {
    const plan = queryPlan(indexPlan, limit);
    let search = table
      .vectorSearch(Array.from(vector))
      .distanceType('cosine')
      .nprobes(plan.nprobes)
      .refineFactor(plan.refineFactor);
    if (plan.ef) search = search.ef(plan.ef);
    return search.select([...HIT_COLUMNS, '_distance']).limit(limit);
  };
  return {
    plan: queryPlan(indexPlan, K),
    query,
    search: async (vector: ArrayLike<number>, limit = K) =>
      (await query(vector, limit).toArray()).map((row) => String(row.id)),
  };
}

type OurEngine = Awaited<ReturnType<typeof ourEngine>>;

/**
 * Where the time of one search goes: ours by stage from Lance's analyzed plan, pgvector's
 * inside the server from EXPLAIN ANALYZE (medians over `vectors`, one at a time).
 */
async function whereTimeGoes(ours: OurEngine, searcher: PeerSearcher, vectors: Float32Array[]) {
  const stages: SearchStages[] = [];
  const explained: Explained[] = [];
  for (const vector of vectors) {
    stages.push(searchStages(await ours.query(vector).analyzePlan()));
    explained.push(await searcher.explain({ vector }, K));
  }
  return {
    count: vectors.length,
    ours: splitMedian(stages),
    pgvector: {
      total: summarise(explained.map((e) => e.planningMs + e.executionMs)).p50,
      usesIndex: explained.every((e) => e.usesIndex),
      jit: explained.some((e) => e.jit),
    },
  };
}

/**
 * The median total split by each stage's share of all the time: medians of the stages alone
 * would not add up to the median total when a busy machine stretches a different stage each time.
 */
function splitMedian(stages: SearchStages[]) {
  const total = summarise(stages.map((s) => s.total)).p50;
  const all = stages.reduce((sum, s) => sum + s.total, 0);
  const part = (pick: (s: SearchStages) => number) => (stages.reduce((sum, s) => sum + pick(s), 0) / all) * total;
  const split = {
    partitions: part((s) => s.partitions),
    index: part((s) => s.index),
    refine: part((s) => s.refine),
    hits: part((s) => s.hits),
  };
  const known = Object.values(split).filter(Number.isFinite);
  return { ...split, other: total - known.reduce((a, b) => a + b, 0), total };
}

interface EngineQueries {
  queries: Float32Array[];
  warmUp: Float32Array[];
  rounds: Float32Array[][];
  exact: string[][];
}

/**
 * Our recall first; then pgvector's recall and latency at each ef_search, the smallest that
 * reaches ours chosen; then both side by side: single-client, interleaved, and 8 clients.
 */
async function compareEngines(catalog: ImageCatalog, peer: PgvectorPeer, q: EngineQueries, ctx: SuiteContext) {
  const ours = await ourEngine(catalog);
  for (const vector of q.warmUp) await ours.search(vector);
  const found = [];
  for (const vector of q.queries) found.push(await ours.search(vector));
  const ourRecall = recall(found, q.exact);
  ctx.log(`our recall@10 ${ourRecall.toFixed(3)}; sweeping pgvector's ef_search`);
  const sweep = [];
  for (const efSearch of EF_SEARCH) {
    const searcher = peer.searcher(efSearch, 1);
    try {
      for (const vector of q.warmUp) await searcher.nearest(vector, K);
      const { peer: run } = await interleavedLatencies(q.queries, { peer: (v) => searcher.nearest(v, K) });
      const { usesIndex } = await searcher.explain({ vector: q.queries[0]! }, K);
      sweep.push({ efSearch, recall: recall(run.answers, q.exact), latency: run.latency, usesIndex });
    } finally {
      await searcher.close();
    }
  }
  const matched = sweep.find((s) => s.recall >= ourRecall) ?? sweep.reduce((a, b) => (b.recall > a.recall ? b : a));
  ctx.log(`pgvector at ef_search ${matched.efSearch} (recall ${matched.recall.toFixed(3)}): side by side`);
  const searcher = peer.searcher(matched.efSearch, CLIENTS);
  try {
    const contenders = {
      ours: (v: Float32Array) => ours.search(v),
      pgvector: (v: Float32Array) => searcher.nearest(v, K),
    };
    const single = await interleavedLatencies(q.queries, contenders);
    const throughput = await alternatingThroughput(q.rounds, CLIENTS, contenders);
    const stages = await whereTimeGoes(ours, searcher, q.queries.slice(0, STAGE_QUERIES));
    return {
      queryPlan: ours.plan,
      efSearch: matched.efSearch,
      sweep,
      recall: { ours: recall(single.ours.answers, q.exact), pgvector: recall(single.pgvector.answers, q.exact) },
      latency: { ours: single.ours.latency, pgvector: single.pgvector.latency },
      throughput,
      stages,
    };
  } finally {
    await searcher.close();
  }
}

/** Stored rows from the middle of the table: ids for `similarImages`, vectors for the engine. */
async function storedQueries(catalog: ImageCatalog, count: number, rows: number) {
  const { table } = await lanceReader(catalog);
  const found = await table
    .query()
    .select(['id', 'vector'])
    .offset(Math.max(0, Math.floor(rows / 2) - Math.floor(count / 2)))
    .limit(count)
    .toArray();
  if (found.length < count) throw new Error(`${count} stored rows wanted for similarImages, ${found.length} found`);
  return found.map((row) => {
    const record = fromLanceRow(row);
    return { id: record.id, vector: record.vector! };
  });
}

type Stored = Awaited<ReturnType<typeof storedQueries>>[number];

/**
 * Nearest images to a stored image: our engine given its vector, the service given its id over
 * HTTP (its own process, on the same dataset), pgvector given its id in one statement.
 */
async function compareServices(local: Services, searcher: PeerSearcher, plan: PeerPlan, ctx: SuiteContext) {
  const engine = await ourEngine(local.catalog);
  const total = WARM_UP + plan.queries + ROUNDS * plan.throughputQueries;
  const stored = await storedQueries(local.catalog, total, plan.rows);
  ctx.log('starting the service on the dataset');
  const service = await startServiceProcess({
    ...QUIET,
    LOG_LEVEL: 'info',
    EMBEDDING_MODEL: await testModelDir(),
    DATA_URI: path.dirname(local.catalog.uri),
  });
  try {
    const client = new GraphQLClient(service.url);
    const contenders = {
      engine: async ({ id, vector }: Stored) =>
        (await engine.search(vector, K + 1)).filter((x) => x !== id).slice(0, K),
      service: async ({ id }: Stored) => {
        const { similarImages } = await client.request<SimilarAnswer>(SIMILAR, { id });
        // Every query is new: an answer from the service's cache would measure the cache.
        if (similarImages.cached) throw new Error(`similarImages(${id}) came from the cache`);
        return similarImages.hits.map((hit) => hit.image.id);
      },
      pgvector: ({ id }: Stored) => searcher.similarTo(id, K),
    };
    const warmUp = stored.slice(0, WARM_UP);
    for (const item of warmUp) for (const search of Object.values(contenders)) await search(item);
    const { usesIndex, jit } = await searcher.explain({ id: warmUp[0]!.id }, K);
    // Where the service's time beyond the engine's goes: the stored vector's lookup by id (the
    // service's own call, in this process) and a GraphQL round trip that does no work.
    const parts = {
      lookup: async ({ id }: Stored) => [...(await local.catalog.get([id], ['vector'])).keys()],
      roundTrip: async () => [String((await client.request<{ __typename: string }>('{ __typename }')).__typename)],
    };
    const single = await interleavedLatencies(stored.slice(WARM_UP, WARM_UP + plan.queries), {
      ...contenders,
      ...parts,
    });
    const start = WARM_UP + plan.queries;
    const rounds = Array.from({ length: ROUNDS }, (_, r) =>
      stored.slice(start + r * plan.throughputQueries, start + (r + 1) * plan.throughputQueries),
    );
    ctx.log(`8 clients: engine, service and pgvector in turn, ${ROUNDS} rounds`);
    const throughput = await alternatingThroughput(rounds, CLIENTS, contenders);
    return {
      latency: { engine: single.engine.latency, service: single.service.latency, pgvector: single.pgvector.latency },
      parts: { lookup: single.lookup.latency, roundTrip: single.roundTrip.latency },
      throughput,
      pgvectorPlan: { usesIndex, jit },
    };
  } finally {
    await service.stop();
  }
}

/** Everything the suite measured: the report's tables and the JSON's data. */
export interface PeerFigures {
  plan: PeerPlan;
  dimension: number;
  settings: Record<string, string>;
  build: { ours: Awaited<ReturnType<typeof buildOurs>>; theirs: Awaited<ReturnType<typeof buildPeer>> };
  engine: Awaited<ReturnType<typeof compareEngines>>;
  service: Awaited<ReturnType<typeof compareServices>>;
}

interface SimilarAnswer {
  similarImages: { cached: boolean; hits: Array<{ distance: number; image: { id: string } }> };
}
