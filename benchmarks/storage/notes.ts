import type { RunSummary } from './report.js';

/** How the figures were obtained: the notes section of storage.md. */
export function storageNotes(run: RunSummary): string[] {
  const { plan } = run;
  const notes = [
    'Chart (p50 bars, p95 whiskers, log scale): ![storage latency chart](storage.png)',
    `Each target gets a fresh dataset: ${plan.rows.toLocaleString('en')} synthetic 512-d rows appended in one commit ` +
      '(`fillCatalog` from benchmarks/lib/synthetic.ts, so one data fragment), then searches, cold opens and cold ' +
      'starts on it, and only then the appends. The dataset is deleted afterwards.',
    `Photos: ${run.photos.count} JPEG photos from shared/data/everyday-photos (mean ${Math.round(run.photos.meanBytes / 1024)} KiB). ` +
      'The service stores an image once per content hash, so every upload gets a unique JPEG comment segment: same ' +
      'pixels and decoding cost, new bytes.',
    '"append 1 photo": `services.uploads.uploadAll([file])` = validate and hash (sharp decode), embed, PUT the image ' +
      "object, then the writer's Lance append commit. The parts are timed inside the real services by wrapping " +
      "`batcher.embedImage`, `objects.put`, the writer's private `catchUp` (before each commit it moves to the latest " +
      "version, `checkoutLatest` + `version()`, and reloads its id set if another process wrote) and the write primitives' `append`; the " +
      `rest of the total is validation (a full decode) and queueing. "append a batch": ${plan.batchSize} photos in one \`uploadAll\`: one model batch, concurrent ` +
      'PUTs, one Lance commit. Each commit starts index and compaction upkeep in the background (`table.stats()`, ' +
      'compaction only past COMPACT_FRAGMENTS small fragments, which this run stays under); the benchmark waits for ' +
      'it between samples, untimed. "Lance versions per append" counts the versions one append created: 1 is the ' +
      "writer's single group commit.",
    '"text search": `SearchService.byText` with limit 10 and the columns a client selects (id key filename width ' +
      'height), each text new to both caches: text embedding + flat Lance scan + cache write, after 3 warm-up texts. ' +
      '"result-cache hit": the same texts again. Service defaults otherwise, notably READ_CONSISTENCY_MS=1000: the ' +
      'shared handle re-checks the latest version at most once a second, so some hits still make a request.',
    '"cold open": `lancedb.connect` (new connection, so no Lance caches) + `openTable` + one vector search + close, ' +
      'with the storage options the service derives from DATA_URI. "cold start": `startServices` with the model ' +
      'already loaded (opens storage and table, the writer scans every id) + the first text search; closing is not timed. ' +
      'Both after one untimed warm-up.',
    'Emulated targets: the local S3 store behind test/support/s3-proxy.ts, which holds every response until the ' +
      "profile's first-byte delay has passed since the request body ended and throttles each connection's bodies to " +
      "the profile's bandwidth. It does not model the machine's distance from the region, request-rate limits or " +
      'a cold bucket. Traffic figures come from the same proxy; real endpoints and local disk have none.',
    'Client, service, proxy and the Ceph gateway (memstore) share one machine and its cores, so "S3 (local)" is a ' +
      'floor for any network store, not a figure for one.',
  ];
  if (run.skipped.length > 0) {
    notes.push(`Skipped: ${run.skipped.map((s) => `${s.target} (${s.reason})`).join('; ')}.`);
  }
  if (run.quick) notes.unshift('QUICK RUN (--quick): reduced sizes, for checking the benchmark, not for figures.');
  return notes;
}
