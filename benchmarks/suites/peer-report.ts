import { HNSW_BUILD } from '../lib/pgvector.js';
import { bytes, ms, type Cell, type SuiteResult } from '../lib/report.js';
import { K } from '../lib/search-probes.js';
import type { LatencySummary } from '../lib/stats.js';
import type { PeerFigures } from './peer.js';

const CLIENTS = 8;
const qps = (value: number) => `${value.toFixed(0)} qps`;
const pair = (l: LatencySummary) => `${ms(l.p50)} / ${ms(l.p95)}`;
/** Our time over theirs, said as a reader would: "4.2× slower" or "1.3× faster". */
const slower = (ours: number, theirs: number) =>
  ours >= theirs ? `${(ours / theirs).toFixed(2)}× slower` : `${(theirs / ours).toFixed(2)}× faster`;
const yes = (value: boolean) => (value ? 'yes' : 'no');
const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

export function peerReport(f: PeerFigures): SuiteResult {
  const { ours, theirs } = f.build;
  const { engine, service } = f;
  const plan = engine.queryPlan;
  const stages = engine.stages.ours;
  return {
    suite: 'peer',
    title: `The service's search beside pgvector ${f.settings.pgvector} on PostgreSQL ${f.settings.server_version}: ${f.plan.rows.toLocaleString('en')} rows, matched recall (issue 15)`,
    notes: [
      `${f.plan.rows} synthetic clustered ${f.dimension}-d vectors from the scale suite's generator (seed 7), the same rows in both: pgvector's are copied from the Lance dataset (float32 written with 9 significant digits, which read back exactly). ${f.plan.queries} held-out queries (the scale suite's), limit ${K}; recall@10 against the exact top 10 (Lance's bypassVectorIndex).`,
      `Ours: the service's default index (${ours.index}), searched with the service's queryPlan (nprobes ${plan.nprobes}, ef ${plan.ef ?? '–'}, refine ${plan.refineFactor}) through LanceDB's Node API on the service's handle, selecting id, key, filename, width, height and _distance. pgvector: HNSW (m ${HNSW_BUILD.m}, ef_construction ${HNSW_BUILD.efConstruction}, vector_cosine_ops), one prepared SELECT of the same columns through \`pg\`, with hnsw.ef_search the smallest of the sweep whose recall reaches ours; table and indices loaded into shared buffers (pg_prewarm: ${theirs.prewarmed ? 'yes' : 'not available'}). Its statements walked the HNSW index: ${yes(engine.stages.pgvector.usesIndex)} (by vector), ${yes(service.pgvectorPlan.usesIndex)} (by id); JIT-compiled: ${yes(engine.stages.pgvector.jit || service.pgvectorPlan.jit)}.`,
      "Single-client figures take turns query by query between the contenders, so a change in the machine's load reaches all alike; throughput runs each contender in turn over new queries, 3 rounds, and gives the median round (every round is in the JSON).",
      `Service level: the nearest images to a stored image. Ours through GraphQL \`similarImages\` over HTTP to the service as its own process on the same dataset (service defaults, every answer checked to be uncached), beside our engine given the stored vector (limit 11, the image itself dropped, as the service asks), and pgvector's one statement (the row's vector as a subquery, the row left out).`,
      "Where the time goes: Lance's analyzed plan times each operator (wall time, its inputs included): centroids is ranking the IVF centroids, graph walks the HNSW search of the probed partitions, refine reading the candidates' full vectors to re-rank them, hit columns reading the selected columns of the hits. Between 'inside the engine' and the p50 measured above lie the binding, the Arrow results and, for pgvector, the round trip and the vector sent as text.",
      "pgvector's HNSW build is not deterministic (random levels, a parallel build), so the recall at a given ef_search, and with it the ef_search compared, can move by a step between runs.",
      `PostgreSQL settings: ${Object.entries(f.settings)
        .map(([name, value]) => `${name} ${value}`)
        .join(
          ', ',
        )}. Client, service and PostgreSQL share the machine's cores; absolute times on a shared machine are noisy, the ratios come from one run, side by side.`,
    ],
    tables: [
      {
        title: 'Empty to searchable, and bytes on disk',
        columns: [
          '',
          'load',
          'compaction',
          'index build',
          'empty to searchable',
          'on disk, all indices',
          'vector index alone',
        ],
        rows: [
          [
            `us (${ours.index}, ${ours.fragments} fragment(s))`,
            ms(ours.fillMs),
            ms(ours.compactionMs),
            ms(ours.indexMs),
            ms(ours.searchableMs),
            bytes(ours.totalBytes),
            bytes(ours.vectorIndexBytes),
          ],
          [
            'pgvector (COPY, HNSW)',
            ms(theirs.loadMs),
            '–',
            ms(theirs.indexMs),
            ms(theirs.searchableMs),
            bytes(theirs.totalBytes),
            bytes(theirs.vectorIndexBytes),
          ],
          [
            'us ÷ pgvector',
            '',
            '',
            '',
            ratio(ours.searchableMs, theirs.searchableMs),
            ratio(ours.totalBytes, theirs.totalBytes),
            ratio(ours.vectorIndexBytes, theirs.vectorIndexBytes),
          ],
        ],
      },
      {
        title: `pgvector's hnsw.ef_search against recall@10 (alone, single client); ours is ${engine.recall.ours.toFixed(3)}`,
        columns: ['ef_search', 'recall@10', 'p50 / p95', 'plan', ''],
        rows: engine.sweep.map((s) => [
          s.efSearch,
          s.recall.toFixed(3),
          pair(s.latency),
          s.usesIndex ? 'HNSW index' : 'whole-table scan',
          s.efSearch === engine.efSearch ? 'compared' : '',
        ]),
      },
      {
        title: 'Engine: held-out query vectors, matched recall',
        columns: [
          '',
          'recall@10',
          'single-client p50 / p95',
          `${CLIENTS}-client throughput`,
          `p50 / p95 at ${CLIENTS} clients`,
        ],
        rows: [
          [
            "us (LanceDB, the service's query plan)",
            engine.recall.ours.toFixed(3),
            pair(engine.latency.ours),
            qps(engine.throughput.ours.qps),
            pair(engine.throughput.ours.latency),
          ],
          [
            `pgvector (ef_search ${engine.efSearch})`,
            engine.recall.pgvector.toFixed(3),
            pair(engine.latency.pgvector),
            qps(engine.throughput.pgvector.qps),
            pair(engine.throughput.pgvector.latency),
          ],
          [
            'us ÷ pgvector',
            '',
            slower(engine.latency.ours.p50, engine.latency.pgvector.p50),
            ratio(engine.throughput.ours.qps, engine.throughput.pgvector.qps),
            '',
          ],
        ],
      },
      {
        title: `Where the engine's time goes: the median of ${engine.stages.count} queries, one at a time, split by each stage's share of all their time`,
        columns: [
          '',
          'centroids',
          'graph walks',
          'refine (full vectors)',
          'hit columns',
          'other operators',
          'inside the engine',
          'single-client p50 (above)',
        ],
        rows: [
          [
            'us (Lance analyzePlan)',
            ...[stages.partitions, stages.index, stages.refine, stages.hits, stages.other, stages.total].map(ms),
            ms(engine.latency.ours.p50),
          ],
          [
            'pgvector (EXPLAIN ANALYZE: planning + execution)',
            ...['–', '–', '–', '–', '–'],
            ms(engine.stages.pgvector.total),
            ms(engine.latency.pgvector.p50),
          ],
        ],
      },
      {
        title: 'Service: the nearest images to a stored image',
        columns: ['', 'single-client p50 / p95', `${CLIENTS}-client throughput`, `p50 / p95 at ${CLIENTS} clients`],
        rows: [
          [
            'our engine, given the vector',
            pair(service.latency.engine),
            qps(service.throughput.engine.qps),
            pair(service.throughput.engine.latency),
          ],
          [
            'our service, GraphQL similarImages over HTTP',
            pair(service.latency.service),
            qps(service.throughput.service.qps),
            pair(service.throughput.service.latency),
          ],
          [
            `pgvector, one statement by id (ef_search ${engine.efSearch})`,
            pair(service.latency.pgvector),
            qps(service.throughput.pgvector.qps),
            pair(service.throughput.pgvector.latency),
          ],
          [
            'our service ÷ pgvector',
            slower(service.latency.service.p50, service.latency.pgvector.p50),
            ratio(service.throughput.service.qps, service.throughput.pgvector.qps),
            '',
          ],
        ],
      },
      {
        title: "Where the service's time beyond the engine's goes (single client, p50, interleaved with the above)",
        columns: [
          'the service ÷ the engine',
          "the stored vector's lookup by id",
          'a GraphQL round trip doing nothing',
          'the rest',
        ],
        rows: [
          [
            `${ms(service.latency.service.p50)} − ${ms(service.latency.engine.p50)} = ${ms(service.latency.service.p50 - service.latency.engine.p50)}`,
            ms(service.parts.lookup.p50),
            ms(service.parts.roundTrip.p50),
            ms(
              service.latency.service.p50 -
                service.latency.engine.p50 -
                service.parts.lookup.p50 -
                service.parts.roundTrip.p50,
            ),
          ],
        ],
      },
      { title: 'Targets', columns: ['target', 'figure', 'verdict'], rows: targets(f) },
    ],
    data: f,
  };
}

const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}×`;

function targets({ engine, service }: PeerFigures): Cell[][] {
  const p50Ratio = engine.latency.pgvector.p50 / engine.latency.ours.p50;
  const qpsRatio = engine.throughput.ours.qps / engine.throughput.pgvector.qps;
  const added = service.latency.service.p50 - service.latency.engine.p50;
  const serviceShare = service.throughput.service.qps / service.throughput.engine.qps;
  return [
    [
      "engine single-client p50 ≥ 1× pgvector's speed (its p50 ÷ ours)",
      `${p50Ratio.toFixed(2)}×`,
      verdict(p50Ratio >= 1),
    ],
    [`engine ${CLIENTS}-client throughput ≥ 1× pgvector's`, `${qpsRatio.toFixed(2)}×`, verdict(qpsRatio >= 1)],
    ["the service adds ≤ 2 ms to the engine's p50", `${ms(added)} ms`, verdict(added <= 2)],
    [
      `service ${CLIENTS}-client throughput ≥ 0.7× the engine's`,
      `${serviceShare.toFixed(2)}×`,
      verdict(serviceShare >= 0.7),
    ],
  ];
}
