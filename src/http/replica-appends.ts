import express, { Router } from 'express';
import { RequestError } from '../errors.js';
import { MAX_RELAY_BYTES, RELAY_PATH, RelayedRows, decodeRows } from '../services/catalog/append-relay.js';
import type { Services } from '../services/index.js';
import { authorized } from './auth.js';

/**
 * `POST /_replica/appends`: the holder of the maintenance lease commits the rows another replica
 * hands it (src/services/catalog/append-relay.ts) with its own uploads, and answers each row's
 * outcome. Only with `Authorization: Bearer <REPLICA_TOKEN>`: the rows are stored as they come.
 * The route exists only when REPLICA_TOKEN is set.
 */
export function replicaAppends(services: () => Services | undefined, token: string): Router {
  const router = Router();
  router.post(
    RELAY_PATH,
    (req, _res, next) =>
      next(
        authorized(req.headers.authorization, token)
          ? undefined
          : new RequestError(401, 'not a replica', 'UNAUTHENTICATED'),
      ),
    express.json({ limit: MAX_RELAY_BYTES }),
    async (req, res) => {
      const ready = services();
      if (!ready) throw new RequestError(503, 'the service is starting', 'SERVICE_UNAVAILABLE', 5);
      const parsed = RelayedRows.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new RequestError(400, `not a hand-off of rows: ${issue.path.join('.')}: ${issue.message}`);
      }
      let rows;
      try {
        rows = decodeRows(parsed.data, ready.batcher.model.dimension);
      } catch (error) {
        throw new RequestError(400, `not a hand-off of rows: ${(error as Error).message}`);
      }
      const outcomes = await Promise.all(rows.map((row) => ready.writer.append(row, { received: true })));
      res.set('Cache-Control', 'no-store').json({ outcomes });
    },
  );
  return router;
}
