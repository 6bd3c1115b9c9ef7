import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { GraphQLError } from 'graphql';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Settings } from './config.js';
import { createContext, type GraphQLContext } from './context.js';
import { formatError } from './errors.js';
import type { Logger } from './logger.js';
import { resolvers } from './resolvers/index.js';
import type { ClipModel } from './services/clip-model.js';
import { CONTENT_TYPES } from './services/image-probe.js';
import { startServices, type Services } from './services/index.js';

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
  listen(port: number): Promise<Server>;
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
  const services = startServices(settings, logger, options.model);
  let ready: Services | undefined;
  services.then(
    (s) => (ready = s),
    (error: unknown) => logger.fatal({ err: error }, 'start-up failed'),
  );

  const apollo = await startApollo(settings.API_KEY);

  const http = express();
  http.disable('x-powered-by');
  http.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  http.get('/readyz', (_req, res) => void res.status(ready ? 200 : 503).json({ ready: Boolean(ready) }));
  http.get(
    '/images/:name',
    serveImage(() => ready),
  );
  http.use(
    '/graphql',
    (_req, res, next) => (ready ? next() : unavailable(res)),
    graphqlUploadExpress({ maxFileSize: settings.MAX_UPLOAD_BYTES, maxFiles: settings.MAX_UPLOAD_FILES }),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, { context: async () => createContext(ready!) }),
  );
  http.use(graphqlHttpErrors);

  let server: Server | undefined;
  return {
    http,
    apollo,
    services,
    listen: (port) =>
      new Promise((resolve, reject) => {
        server = http.listen(port, () => resolve(server!)).once('error', reject);
      }),
    close: async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      await apollo.stop();
      await (await services.catch(() => null))?.close();
    },
  };
}

/** The Apollo server alone (tests run operations on it with `executeOperation`). */
export async function startApollo(apiKey?: string): Promise<ApolloServer<GraphQLContext>> {
  const apollo = new ApolloServer<GraphQLContext>({
    typeDefs,
    resolvers,
    formatError,
    plugins: [requireApiKeyForMutations(apiKey)],
    introspection: true,
  });
  await apollo.start();
  return apollo;
}

function unavailable(res: express.Response): void {
  res
    .status(503)
    .set('Retry-After', '5')
    .json({
      errors: [
        {
          message: 'the service is starting: the embedding model is loading',
          extensions: { code: 'SERVICE_UNAVAILABLE' },
        },
      ],
    });
}

/** GET /images/{sha256}.{ext}: the bytes, immutable and cacheable forever (the key is their hash). */
function serveImage(services: () => Services | undefined): RequestHandler {
  return async (req, res, next) => {
    const match = /^([0-9a-f]{64})\.([a-z]+)$/.exec(String(req.params.name));
    const contentType = match ? CONTENT_TYPES[match[2]!] : undefined;
    const ready = services();
    if (!match || !contentType) return void res.status(404).json({ error: 'not found' });
    if (!ready) return unavailable(res);
    const etag = `"${match[1]}"`;
    res.set({ ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable' });
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    try {
      const object = await ready.objects.get(`images/${req.params.name}`);
      if (!object) return void res.status(404).json({ error: 'not found' });
      res.set({ 'Content-Type': contentType, 'Content-Length': String(object.size) });
      await pipeline(object.body, res);
    } catch (error) {
      next(error);
    }
  };
}

/** Errors raised before Apollo runs (multipart limits, bad JSON) still answer in GraphQL's shape. */
const graphqlHttpErrors: ErrorRequestHandler = (
  error: { status?: number; expose?: boolean; message?: string },
  _req,
  res,
  next,
) => {
  if (res.headersSent) return next(error);
  const status = error.status && error.status < 500 ? error.status : 500;
  const message = status < 500 ? (error.message ?? 'bad request') : 'internal server error';
  const code = status === 413 || status === 400 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR';
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
};

/** With API_KEY set, mutations need `Authorization: Bearer <key>`; queries stay open. */
function requireApiKeyForMutations(apiKey: string | undefined): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (!apiKey || operation?.operation !== 'mutation') return;
          if (request.http?.headers.get('authorization') === `Bearer ${apiKey}`) return;
          throw new GraphQLError('mutations need Authorization: Bearer <API_KEY>', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          });
        },
      };
    },
  };
}
