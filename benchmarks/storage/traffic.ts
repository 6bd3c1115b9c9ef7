import type { ProxyStats, S3Proxy } from '../../test/support/s3-proxy.js';

/** Storage traffic of one operation, averaged over its iterations (from the proxy's counters). */
export interface Traffic {
  requests: number;
  /** bytes sent to the store (request bodies) */
  bytesSent: number;
  /** bytes received from the store (response bodies) */
  bytesReceived: number;
  byMethod: Record<string, number>;
  /** responses by HTTP status, summed over all iterations (a 412 is a lost commit race) */
  byStatus: Record<number, number>;
  iterations: number;
}

/**
 * Counts what a series of iterations sends through the proxy. `measure` resets the counters,
 * runs the series and divides by its length; with no proxy (local disk, real endpoints) it
 * only runs the series.
 */
export class TrafficMeter {
  constructor(private readonly proxy: S3Proxy | null) {}

  async measure<T>(iterations: number, series: () => Promise<T>): Promise<{ value: T; traffic: Traffic | null }> {
    this.proxy?.reset();
    const value = await series();
    const stats = this.proxy?.stats();
    return { value, traffic: stats ? perIteration(stats, iterations) : null };
  }
}

function perIteration(stats: ProxyStats, iterations: number): Traffic {
  const byMethod = Object.fromEntries(
    Object.entries(stats.byMethod).map(([method, m]) => [method, m.requests / iterations]),
  );
  return {
    requests: stats.requests / iterations,
    bytesSent: stats.bytesIn / iterations,
    bytesReceived: stats.bytesOut / iterations,
    byMethod,
    byStatus: stats.byStatus,
    iterations,
  };
}
