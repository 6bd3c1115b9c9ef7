import express, { type RequestHandler } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` (run by `npm install`) writes the web UI. */
export const WEB_BUILD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'build');

/** The page every route of the single-page app starts from (adapter-static's fallback). */
const SHELL = '200.html';

/**
 * The web UI: its static files, with SvelteKit's hashed assets cached forever, and the app's
 * shell page for any other GET that asks for HTML (the app routes itself). Without a build, a
 * page that says how to make one.
 */
export function serveWebApp(dir = WEB_BUILD_DIR): RequestHandler[] {
  if (!existsSync(path.join(dir, SHELL))) {
    return [
      (req, res, next) =>
        req.method === 'GET' && req.accepts('html')
          ? void res.status(503).type('text').send('The web UI is not built: run `npm run build:web`.')
          : next(),
    ];
  }
  const files = express.static(dir, {
    index: false,
    setHeaders: (res, file) => {
      const immutable = file.startsWith(path.join(dir, '_app', 'immutable') + path.sep);
      res.set('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const shell: RequestHandler = (req, res, next) =>
    req.method === 'GET' && req.accepts('html')
      ? res.set('Cache-Control', 'no-cache').sendFile(path.join(dir, SHELL))
      : next();
  return [files, shell];
}
