import type { ApolloServer } from '@apollo/server';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { writeTestModel } from '../../scripts/make-test-model.js';
import { loadSettings, type Settings } from '../../src/config.js';
import { createContext, type GraphQLContext } from '../../src/context.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createApp, startApollo, type App } from '../../src/server.js';
import { loadClip, type ClipModel } from '../../src/services/embedding/clip-model.js';
import type { NewImageRow } from '../../src/services/catalog/image-record.js';
import { UploadedFile } from '../../src/services/images/upload-input.js';
import { startServices, type Services } from '../../src/services/index.js';
import { lanceReader, tableWrites } from '../../src/services/catalog/test-access.js';

let modelDir: Promise<string> | undefined;
let model: Promise<ClipModel> | undefined;

/** The designed test model's directory, written once per test process and removed when it exits. */
export function testModelDir(): Promise<string> {
  modelDir ??= (async () => {
    const dir = await writeTestModel(await mkdtemp(path.join(tmpdir(), 'clip-test-model-')));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })();
  return modelDir;
}

/** The designed test model, loaded once per test process. */
export function testModel(): Promise<ClipModel> {
  model ??= testModelDir().then((dir) => loadClip({ model: dir, cacheDir: path.join(dir, '.cache') }));
  return model;
}

export async function tempDir(prefix = 'lance-image-search-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** Settings for a test: a fresh temp DATA_URI, silent logs, and no automatic index builds. */
export async function testSettings(env: Record<string, string> = {}): Promise<Settings> {
  return loadSettings({
    DATA_URI: env.DATA_URI ?? (await tempDir()),
    LOG_LEVEL: 'silent',
    INDEX_MIN_ROWS: '1000000',
    READ_CONSISTENCY_MS: '0',
    ...env,
  });
}

/** Real services on a temp dataset (or `env.DATA_URI`); `close()` also removes a temp directory. */
export async function openServices(env: Record<string, string> = {}): Promise<Services> {
  const settings = await testSettings(env);
  const services = await startServices(settings, createLogger('silent'), testModel());
  const close = services.close;
  services.close = async () => {
    await close();
    if (!settings.DATA_URI.includes('://'))
      await rm(settings.DATA_URI, { recursive: true, force: true, maxRetries: 5 });
  };
  return services;
}

/** The real HTTP app listening on a free port; `logger` lets a test read what it logs. */
export async function openApp(
  env: Record<string, string> = {},
  logger: Logger = createLogger('silent'),
): Promise<App & { url: string }> {
  const settings = await testSettings(env);
  const app = await createApp(settings, logger, { model: testModel() });
  await app.services;
  const server = await app.listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = app.close;
  return {
    ...app,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await close();
      if (!settings.DATA_URI.includes('://'))
        await rm(settings.DATA_URI, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** The Apollo server of the service, for `executeOperation`. */
export function graphqlServer(
  settings: Parameters<typeof startApollo>[0] = {},
  logger: Logger = createLogger('silent'),
): Promise<ApolloServer<GraphQLContext>> {
  return startApollo(settings, logger);
}

/** A log line, as pino writes it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger at `debug` that keeps every line it writes, for tests that check what is logged and how. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** pino's level of `error`: lines at it or above are what an operator is paged for. */
export const ERROR_LEVEL = 50;

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** Runs one operation in-process against real services; returns the single result. */
export async function execute<T = Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  server: ApolloServer<GraphQLContext>,
  services: Services,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const response = await server.executeOperation<T>({ query, variables }, { contextValue: createContext(services) });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult as GraphQLResponse<T>;
}

/** An Upload scalar value, as the multipart layer builds it from a file part. */
export function upload(bytes: Uint8Array, filename = 'image.bin'): UploadedFile {
  return new UploadedFile(bytes, filename);
}

/** A GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec). */
export function multipart(
  query: string,
  files: Array<{ bytes: Uint8Array; name: string }>,
  many = files.length > 1,
): FormData {
  const form = new FormData();
  const variables = many ? { files: files.map(() => null) } : { file: null };
  form.set('operations', JSON.stringify({ query, variables }));
  const map = Object.fromEntries(files.map((_, i) => [String(i), [many ? `variables.files.${i}` : 'variables.file']]));
  form.set('map', JSON.stringify(map));
  files.forEach((file, i) => form.set(String(i), new Blob([Buffer.from(file.bytes)]), file.name));
  return form;
}

/** Complete rows with deterministic ids and vectors, for filling a dataset without the model. */
export function syntheticRows(count: number, dimension: number, offset = 0): NewImageRow[] {
  return Array.from({ length: count }, (_, n) => {
    const i = offset + n;
    const id = i.toString(16).padStart(64, '0');
    const vector = Float32Array.from({ length: dimension }, (_, j) => Math.sin(i * 31 + j));
    return {
      id,
      key: `images/${id}.jpg`,
      filename: `photo-${i}.jpg`,
      contentType: 'image/jpeg',
      size: 1000 + i,
      width: 640,
      height: 480,
      createdAt: new Date(),
      vector,
    };
  });
}

export const UPLOAD_ONE =
  'mutation ($file: Upload!) { uploadImage(file: $file) { created image { id key filename contentType size width height } } }';
export const UPLOAD_MANY = 'mutation ($files: [Upload!]!) { uploadImages(files: $files) { created image { id } } }';

/** Appends rows through the writer as one group commit, then waits for the index upkeep that commit set off. */
export async function commitRows(services: Services, rows: readonly NewImageRow[]): Promise<number> {
  const outcomes = await Promise.all(rows.map((row) => services.writer.append(row)));
  await services.writer.flush();
  await services.dataset.idle();
  return Math.max(...outcomes.map((o) => o.version));
}

/** Polls `condition` until it holds; fails naming `what` after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Every live row's id at the latest version, read from the dataset itself (no writer keeps a set
 * of them): `ids` once each, and `duplicated` the ids of rows beyond an id's first.
 */
export async function storedIds(services: Services): Promise<{ ids: Set<string>; duplicated: string[] }> {
  const { table } = await lanceReader(services.catalog, await tableWrites(services.writer).refresh());
  const ids = new Set<string>();
  const duplicated: string[] = [];
  for await (const batch of table.query().select(['id'])) {
    for (const id of batch.getChild('id')!.toArray() as string[]) {
      if (ids.has(id)) duplicated.push(id);
      ids.add(id);
    }
  }
  return { ids, duplicated };
}

/**
 * Starts this process's peak resident memory again from its current size (Linux only), so that a
 * test measures its own peak and not one an earlier test reached.
 */
export async function resetPeakRss(): Promise<void> {
  if (process.platform === 'linux') await writeFile('/proc/self/clear_refs', '5');
}

/** Peak resident memory of this process in bytes: since resetPeakRss() on Linux, else since it started. */
export async function peakRss(): Promise<number> {
  if (process.platform !== 'linux') return process.resourceUsage().maxRSS * 1024;
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(await readFile('/proc/self/status', 'utf8'))![1]) * 1024;
}
