import compression from 'compression';
import cors from 'cors';
import express, { Router, type Request, type RequestHandler } from 'express';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` (run by `npm install`) writes the GraphQL explorer (web/explorer/). */
export const EXPLORER_BUILD_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'web',
  'explorer',
  'dist',
);

/** The URL path of the explorer's hashed assets (vite's `base` in web/explorer/vite.config.ts). */
export const EXPLORER_ASSETS = '/explorer/assets';

/** The origin of Apollo's hosted Sandbox, which the explorer links to for those online. */
export const APOLLO_STUDIO = 'https://studio.apollographql.com';

/**
 * Everything the page loads comes from this origin: its scripts and styles are files (no inline
 * script), the editor's workers are files too, and it talks to /graphql only. The editor (Monaco)
 * writes styles into the page at run time, hence 'unsafe-inline' for styles alone; the editor's
 * font is a data: URL inside the stylesheet.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GraphiQL at GET /graphql for browsers, built from npm packages, so that it works offline (Apollo
 * Sandbox, Apollo's default page there, loads from Apollo's CDN). Other clients, and every POST, go
 * on to Apollo. Its assets have hashed names and are cached for good; the page is revalidated. With
 * introspection off the page is told so, and says so instead of asking for the schema.
 */
export function serveExplorer({ introspection, dir = EXPLORER_BUILD_DIR }: { introspection: boolean; dir?: string }) {
  const router = Router();
  // use(), not get(): a route would make the router answer OPTIONS /graphql itself.
  router.use('/graphql', async (req, res, next) => {
    if (req.method !== 'GET' || req.path !== '/' || !prefersHtml(req)) return next();
    const page = await readFile(path.join(dir, 'index.html'), 'utf8').catch(() => null);
    if (page === null) {
      return void res.status(503).type('text').send('The GraphQL explorer is not built: run `npm run build:web`.');
    }
    res
      .set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': CONTENT_SECURITY_POLICY })
      .type('html')
      .send(
        introspection ? page : page.replace('name="introspection" content="on"', 'name="introspection" content="off"'),
      );
  });
  router.use(
    EXPLORER_ASSETS,
    // Monaco alone is 2.8 MB of script; compressed, a quarter of that. (GraphQL answers are left as they are.)
    compression(),
    express.static(path.join(dir, 'assets'), { index: false, immutable: true, maxAge: '1y', fallthrough: false }),
  );
  return router;
}

/**
 * Lets Apollo's hosted Sandbox (a page of another origin, in the browser of someone online) call
 * /graphql, as the explorer's "Open in Apollo Sandbox" link asks it to: that origin only, and no
 * cookies (the service uses none; API_KEY travels in the Authorization header the user gives it).
 */
export function apolloSandboxCors(): RequestHandler {
  return cors({ origin: [APOLLO_STUDIO], methods: ['GET', 'POST'], maxAge: 600 });
}

/** Apollo's rule for its landing page: a GET whose Accept ranks HTML above every GraphQL answer type. */
function prefersHtml(req: Request): boolean {
  if (!req.headers.accept) return false;
  const types = ['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html'];
  return req.accepts(types) === 'text/html';
}
