import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { performance } from 'node:perf_hooks';
import type { ServiceMetrics } from '../services/metrics.js';
import { authorized } from './auth.js';

/**
 * GET /metrics in Prometheus' text format. It answers while the model loads (it is how an
 * operator sees a slow start). Open unless METRICS_TOKEN is set, then it takes
 * `Authorization: Bearer <token>`: a scraper needs no API_KEY, which would also let it write.
 */
export function serveMetrics(metrics: ServiceMetrics, token: string | undefined): RequestHandler {
  return async (req, res) => {
    if (!authorized(req.headers.authorization, token)) {
      res.status(401).set('www-authenticate', 'Bearer').end();
      return;
    }
    const body = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(body);
  };
}

/** Counts and times every GraphQL operation Apollo answers, by operation name and type. */
export function operationMetrics(metrics: ServiceMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      let failed = false;
      return {
        async didEncounterErrors() {
          failed = true;
        },
        async willSendResponse({ operation, operationName }) {
          const resolved = operation && { name: operationName ?? null, type: operation.operation };
          metrics.operationAnswered(resolved, failed, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
