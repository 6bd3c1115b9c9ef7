import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import pLimit from 'p-limit';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { introspectionEnabled, type Settings } from './config.js';
import { createContext, type GraphQLContext } from './context.js';
import { errorFormatter, httpErrorHandler, respondStarting, unavailableStatus } from './errors.js';
import { guardMutations, isLocalRequest, refuseRebinding } from './http/auth.js';
import { apolloSandboxCors, serveExplorer } from './http/explorer.js';
import { cachePolicy } from './http/cache-policy.js';
import { serveImages, serveThumbnails } from './http/images.js';
import { operationMetrics, serveMetrics } from './http/metrics.js';
import { fileForm, multipartUploads, type MultipartOptions } from './http/multipart.js';
import { mvpApi } from './http/mvp-api.js';
import { replicaAppends } from './http/replica-appends.js';
import { UploadAdmission } from './http/upload-admission.js';
import { securityHeaders } from './http/security-headers.js';
import { serveWebApp } from './http/web-app.js';
import { MAX_JSON_BYTES } from './limits.js';
import type { Logger } from './logger.js';
import { knownOperationTypes } from './operation-types.js';
import { queryLimits } from './query-limits.js';
import { resolvers } from './resolvers/index.js';
import type { ClipModel } from './services/embedding/clip-model.js';
import { startServices, type Services } from './services/index.js';
import { IMAGES_PREFIX, THUMBNAILS_PREFIX } from './services/images/image-key.js';
import { persistedQueryStore } from './services/cache.js';
import { objectUri } from './services/storage/storage.js';
import { ServiceMetrics } from './services/metrics.js';

const SCHEMA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schema');

/** The SDL, from every file in schema/. */
export const typeDefs = readdirSync(SCHEMA_DIR)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => readFileSync(path.join(SCHEMA_DIR, f), 'utf8'))
  .join('\n');

export interface App {
  http: express.Express;
  apollo: ApolloServer<GraphQLContext>;
  /** Resolves once the model is loaded and the dataset open; /readyz answers 200 from then on. */
  services: Promise<Services>;
  /**
   * Resolves once listening on `host` (HOST by default); rejects when the port cannot be had
   * (in use, no permission).
   */
  listen(port: number, host?: string): Promise<Server>;
  close(): Promise<void>;
}

/**
 * Builds the HTTP app and the Apollo server. The app answers /healthz at once, while the model
 * loads in the background; GraphQL and /readyz wait for the services.
 */
export async function createApp(
  settings: Settings,
  logger: Logger,
  options: { model?: ClipModel | Promise<ClipModel> } = {},
): Promise<App> {
  const metrics = new ServiceMetrics({ processMetrics: true });
  const services = startServices(settings, logger, options.model, metrics);
  let ready: Services | undefined;
  // A failed start is the caller's to report (src/index.ts exits with its message).
  services.then(
    (s) => (ready = s),
    () => {},
  );

  const apollo = await startApollo(settings, logger, metrics);

  const admission = new UploadAdmission({
    bodyTimeoutMs: settings.UPLOAD_BODY_TIMEOUT_MS,
    bufferBytes: settings.UPLOAD_BUFFER_BYTES,
    clientBodies: settings.UPLOAD_CLIENT_BODIES,
    minBytesPerSecond: settings.UPLOAD_MIN_BYTES_PER_SEC,
    rateGraceMs: settings.UPLOAD_RATE_GRACE_MS,
  });
  metrics.observeUploadBuffer(() => admission.heldBytes);

  const http = express();
  http.disable('x-powered-by');
  http.use(securityHeaders());
  http.use(refuseRebinding(settings));
  http.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  http.get('/readyz', (_req, res) => void res.status(ready ? 200 : 503).json({ ready: Boolean(ready) }));
  http.get('/metrics', serveMetrics(metrics, settings.METRICS_TOKEN));
  if (settings.REPLICA_TOKEN) http.use(replicaAppends(() => ready, settings.REPLICA_TOKEN));
  http.get(
    `/${IMAGES_PREFIX}:name`,
    serveImages(() => ready),
  );
  http.get(
    `/${THUMBNAILS_PREFIX}:name`,
    serveThumbnails(() => ready),
  );
  // GraphQL's uploads and the MVP's share one admission and one bound on uploads processed at once.
  const uploads: MultipartOptions = {
    apiKey: settings.API_KEY,
    maxFileBytes: settings.MAX_UPLOAD_BYTES,
    maxFiles: settings.MAX_UPLOAD_FILES,
    maxRequestBytes: settings.MAX_REQUEST_BYTES,
    admission,
    bufferBytes: settings.UPLOAD_BUFFER_BYTES,
    slots: pLimit(settings.UPLOAD_CONCURRENCY),
  };
  http.use('/graphql', apolloSandboxCors());
  http.use(serveExplorer({ introspection: introspectionEnabled(settings) }));
  http.use(
    '/graphql',
    (_req, res, next) => (ready ? next() : respondStarting(res)),
    multipartUploads(uploads),
    express.json({ limit: MAX_JSON_BYTES }),
    expressMiddleware(apollo, {
      context: async ({ req }) => createContext(ready!, { clientIsLocal: isLocalRequest(req) }),
    }),
  );
  // Before the web UI, whose fallback would answer these paths with its own 404 page.
  http.use(
    mvpApi({
      services: () => ready,
      fileForm: fileForm(uploads),
      objectUri: (key) => objectUri(settings.DATA_URI, key),
    }),
  );
  http.use(serveWebApp());
  http.use(httpErrorHandler(logger));

  const server = createServer(http);
  return {
    http,
    apollo,
    services,
    // Not express's listen: its callback also runs on 'error', so a port in use looked like success.
    listen: (port, host = settings.HOST) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server);
        });
      }),
    close: async () => {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await apollo.stop();
      await (await services.catch(() => null))?.close();
    },
  };
}

/**
 * The Apollo server alone (tests run operations on it with `executeOperation`). Stack traces
 * reach clients only with NODE_ENV=development; introspection follows Apollo's convention (off
 * when NODE_ENV=production) unless INTROSPECTION says otherwise. Persisted queries live in the
 * CACHE_URL store when it is Redis, shared by the replicas; else in the process.
 */
export async function startApollo(
  settings: Pick<Settings, 'API_KEY' | 'NODE_ENV' | 'INTROSPECTION'> &
    Partial<Pick<Settings, 'CACHE_URL' | 'CACHE_TTL_MS'>>,
  logger: Logger,
  metrics = new ServiceMetrics(),
): Promise<ApolloServer<GraphQLContext>> {
  const introspection = introspectionEnabled(settings);
  const limits = queryLimits(introspection);
  const persistedQueries = settings.CACHE_URL
    ? persistedQueryStore(settings.CACHE_URL, settings.CACHE_TTL_MS)
    : undefined;
  const apollo = new ApolloServer<GraphQLContext>({
    typeDefs,
    resolvers,
    formatError: errorFormatter(logger),
    plugins: [
      // GET /graphql in a browser is GraphiQL (src/http/explorer.ts), not Apollo's Sandbox from its CDN.
      ApolloServerPluginLandingPageDisabled(),
      operationMetrics(metrics),
      guardMutations(settings.API_KEY),
      unavailableStatus,
      ...limits.plugins,
      ...cachePolicy(),
      // The store of persisted queries closes with the server.
      { serverWillStart: async () => ({ serverWillStop: async () => persistedQueries?.close() }) },
    ],
    persistedQueries: persistedQueries && { cache: persistedQueries },
    validationRules: [...limits.validationRules, knownOperationTypes],
    parseOptions: limits.parseOptions,
    introspection,
    includeStacktraceInErrorResponses: settings.NODE_ENV === 'development',
    // The process's own handlers stop it (src/index.ts). Apollo's would call stop() beside
    // ours, and Apollo 5.5 never releases a stop() that comes while another is in progress: a
    // SIGTERM during a cold start hung until the 30 s deadline, then exited with 1.
    stopOnTerminationSignals: false,
  });
  await apollo.start();
  return apollo;
}
