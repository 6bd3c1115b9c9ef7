import { Router, type RequestHandler } from 'express';
import { respondStarting } from '../errors.js';
import { MAX_HITS } from '../limits.js';
import type { Services } from '../services/index.js';
import * as input from '../validation.js';

export interface MvpApiOptions {
  /** The services once they are ready; undefined while the model loads. */
  services: () => Services | undefined;
  /** Reads the upload's body (multipart.ts `fileForm`): limits, API_KEY and the cross-site refusal. */
  fileForm: RequestHandler;
  /** An object's URI in the bucket, or its file: URL on disk. */
  objectUri: (key: string) => string;
}

/**
 * The Python MVP's two routes, so that its users' scripts run unchanged: a thin edge over the
 * services GraphQL calls, with the same validation and the same error answers (src/errors.ts).
 *
 * - `POST /vectorize_and_store`, the image in the multipart field `file`: `{id, key, path, created}`,
 *   201 when the bytes are new, 200 when they were stored already.
 * - `GET /search?text=…&limit=…`: `{query, results: [{id, path, _distance}]}`, nearest first,
 *   where `id` is the object key, as the MVP named it.
 */
export function mvpApi({ services, fileForm, objectUri }: MvpApiOptions): Router {
  const router = Router();
  const ready: RequestHandler = (_req, res, next) => (services() ? next() : respondStarting(res));
  // Both answers depend on the latest version, so no cache keeps them (as GraphQL's).
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  router.post('/vectorize_and_store', ready, noStore, fileForm, async (req, res) => {
    const [outcome] = await services()!.uploads.uploadAll([input.upload(req.body)]);
    const { image, created } = outcome!;
    res.status(created ? 201 : 200).json({ id: image.id, key: image.key, path: objectUri(image.key!), created });
  });

  router.get('/search', ready, noStore, async (req, res) => {
    const text = input.searchText(input.queryParameter(req.query.text, 'text') ?? '');
    const limit = input.limit(input.queryInteger(req.query.limit, 'limit'), MAX_HITS, 10);
    const { query, hits } = await services()!.search.byText(text, { limit, columns: ['key'] });
    const results = hits.map(({ image, distance }) => ({
      id: image.key,
      path: objectUri(image.key!),
      _distance: squaredL2(distance),
    }));
    res.json({ query, results });
  });

  return router;
}

/**
 * The MVP's `_distance` was LanceDB's default metric, the squared L2 distance, between unit
 * vectors (CLIP's, normalised), where it is 2 − 2·cos: twice the cosine distance the service
 * searches by. Same order, same numbers as the MVP's for the same vectors.
 */
const squaredL2 = (cosineDistance: number) => 2 * cosineDistance;
