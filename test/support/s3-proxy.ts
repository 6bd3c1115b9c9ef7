// HTTP pass-through proxy in front of an S3 endpoint (path-style requests), for tests and benchmarks:
// counts requests and bytes, adds a remote store's first-byte latency and per-connection bandwidth
// to a loopback store, and injects faults (5xx, hangs, resets) from a seeded PRNG so runs repeat.
//
// SigV4 signs the Host header. Clients point at the proxy, so they sign the proxy's host:port; the
// proxy forwards that Host header unchanged and the gateway verifies against what the client signed.
import http from 'node:http';
import https from 'node:https';
import { Transform, pipeline } from 'node:stream';

export interface ProxyStats {
  requests: number;
  /** request bodies sent upstream */
  bytesIn: number;
  /** response bodies returned to the client (fault bodies included) */
  bytesOut: number;
  byMethod: Record<string, { requests: number; bytesOut: number }>;
  /** ListObjectsV2 requests (HTTP GETs with `list-type`), counted apart from GETs of objects */
  lists: number;
  /** the path of every GET of an object (listings apart), in order: which files a client read */
  objectGets: string[];
  /** the path of every PUT, in order: which objects a client wrote */
  objectPuts: string[];
  /** responses by HTTP status, injected faults included; e.g. 412s show Lance's commit retries */
  byStatus: Record<number, number>;
  /** requests answered by an injected fault instead of the upstream */
  faults: number;
}

/**
 * The GETs of the dataset's own files (`images.lance/`), out of `objectGets`: what a query read
 * from the bucket. The maintenance lease beside the dataset is read every renewal period by every
 * replica, whatever the queries do.
 */
export function datasetGets(stats: ProxyStats): string[] {
  return stats.objectGets.filter((key) => key.includes('/images.lance/'));
}

export interface LatencyProfile {
  name: string;
  /** time from the end of the request body to the first response byte; the local store's own latency counts towards it */
  firstByteMs: number;
  /** per-connection body throughput, both directions (MB = 10^6 bytes) */
  bandwidthMBps: number;
  /** uniform ±jitter added to firstByteMs */
  jitterMs?: number;
  /** citation of where the numbers come from */
  source: string;
}

export interface FaultProfile {
  /** 0..1 share of (matching) requests */
  rate: number;
  kinds: Array<500 | 503 | 'timeout' | 'reset'>;
  seed?: number;
  /** only requests with these methods can fail (default: all) */
  methods?: string[];
}

/**
 * The proxy's time: the real clock by default. A test passes one whose time moves only when the
 * proxy sleeps, and reads how long the proxy made a request take without the wall clock.
 */
export interface ProxyClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: ProxyClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
};

export interface S3Proxy {
  url: string;
  stats(): ProxyStats;
  reset(): void;
  setLatency(p: LatencyProfile | null): void;
  setFaults(f: FaultProfile | null): void;
  /**
   * Parks every request `matches` picks (by method, path and Range header) until the function
   * returned is called; then they, and any that come later, go through. One hold at a time.
   */
  hold(matches: (request: { method: string; path: string; range?: string }) => boolean): () => void;
  close(): Promise<void>;
}

// Profiles model a client in the same region as the bucket (or, for R2, a cloud VM nearby); a
// laptop far from the region adds its own RTT on top.
export const S3_STANDARD: LatencyProfile = {
  name: 's3-standard',
  firstByteMs: 25,
  jitterMs: 15,
  bandwidthMBps: 85,
  source:
    'AWS whitepaper "Best Practices Design Patterns: Optimizing Amazon S3 Performance": small (<512 KB) requests have ' +
    'median latencies "in the tens of milliseconds" (https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html) ' +
    'and "one concurrent request for each 85-90 MB/s" (https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/horizontal-scaling-and-request-parallelization-for-high-throughput.html); ' +
    'Tigris YCSB benchmark, 1 KB GETs on S3: p50 22 ms, p90 42 ms (https://www.tigrisdata.com/docs/overview/benchmarks/summary/)',
};

export const S3_EXPRESS: LatencyProfile = {
  name: 's3-express-one-zone',
  firstByteMs: 5,
  jitterMs: 2,
  bandwidthMBps: 90,
  source:
    'AWS S3 User Guide "Optimizing S3 Express One Zone performance": "consistent single-digit millisecond first-byte read ' +
    'and write request latencies - up to 10x faster than S3 Standard" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-performance.html); ' +
    'AWS publishes no per-connection figure for Express, so the S3 85-90 MB/s per-connection guideline is reused',
};

export const R2: LatencyProfile = {
  name: 'cloudflare-r2',
  firstByteMs: 200,
  jitterMs: 100,
  bandwidthMBps: 60,
  source:
    "Tigris YCSB benchmark (a competitor's, from Oracle Cloud us-sanjose-1), 1 KB objects on R2: PUT p50 197 ms / p90 340 ms, " +
    'mixed-load GET p50 606 ms (https://www.tigrisdata.com/docs/overview/benchmarks/summary/); OWID saw "500ms+ latency on all ' +
    'requests" to R2 from London (https://github.com/owid/etl/pull/583); 120 MB GET from R2 in ~2 s = ~60 MB/s ' +
    "(https://github.com/one-covenant/templar/issues/79). Cloudflare's own test of public-bucket reads reports R2 20-40% faster " +
    'than S3 at p95 (https://blog.cloudflare.com/r2-is-faster-than-s3/), so treat 200 ms as a pessimistic S3-API figure',
};

export const LATENCY_PROFILES = { R2, S3_STANDARD, S3_EXPRESS } as const;

// mulberry32: tiny, seedable, good enough to pick which requests fail
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// hop-by-hop headers (RFC 9110 §7.6.1) plus `expect`: Node's server already answered
// `100 Continue` to the client, and none of these is part of a SigV4 signature
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

// Token bucket: pass bytes through as they come and sleep once the debt exceeds a few ms, so
// timer granularity does not lower the average rate.
function throttle(bytesPerSec: number, clock: ProxyClock): Transform {
  let freeAt = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const now = clock.now();
      freeAt = Math.max(freeAt, now) + (chunk.length / bytesPerSec) * 1000;
      this.push(chunk);
      const debt = freeAt - now;
      if (debt > 4) void clock.sleep(debt).then(() => cb());
      else cb();
    },
  });
}

function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${resource.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Resource>` +
    `<RequestId>${requestId}</RequestId></Error>`
  );
}

function emptyStats(): ProxyStats {
  return {
    requests: 0,
    bytesIn: 0,
    bytesOut: 0,
    byMethod: {},
    byStatus: {},
    faults: 0,
    lists: 0,
    objectGets: [],
    objectPuts: [],
  };
}

export async function startS3Proxy(
  upstream: string,
  opts: { port?: number; latency?: LatencyProfile; faults?: FaultProfile; clock?: ProxyClock } = {},
): Promise<S3Proxy> {
  const clock = opts.clock ?? REAL_CLOCK;
  const up = new URL(upstream);
  const isHttps = up.protocol === 'https:';
  const transport = isHttps ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const upPort = Number(up.port) || (isHttps ? 443 : 80);

  let stats = emptyStats();
  let latency: LatencyProfile | null = null;
  let latencyRng = prng(1);
  let faults: FaultProfile | null = null;
  let faultRng = prng(0);
  let requestSeq = 0;
  let held: { matches: Parameters<S3Proxy['hold']>[0]; released: Promise<void> } | null = null;
  const hold: S3Proxy['hold'] = (matches) => {
    let release = () => {};
    held = { matches, released: new Promise<void>((resolve) => (release = resolve)) };
    return () => {
      held = null;
      release();
    };
  };

  const setLatency = (p: LatencyProfile | null) => {
    latency = p;
    latencyRng = prng(1);
  };
  const setFaults = (f: FaultProfile | null) => {
    if (f && !(f.rate >= 0 && f.rate <= 1 && f.kinds.length > 0))
      throw new Error(`bad fault profile: ${JSON.stringify(f)}`);
    faults = f;
    faultRng = prng(f?.seed ?? 0);
  };
  setLatency(opts.latency ?? null);
  setFaults(opts.faults ?? null);

  const methodStats = (m: string) => (stats.byMethod[m] ??= { requests: 0, bytesOut: 0 });
  const countOut = (m: string) => (n: number) => {
    stats.bytesOut += n;
    methodStats(m).bytesOut += n;
  };

  const countStatus = (code: number) => (stats.byStatus[code] = (stats.byStatus[code] ?? 0) + 1);

  const pickFault = (method: string): FaultProfile['kinds'][number] | null => {
    const f = faults;
    if (!f || (f.methods && !f.methods.includes(method))) return null;
    if (faultRng() >= f.rate) return null;
    return f.kinds[Math.floor(faultRng() * f.kinds.length)] ?? null;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const t0 = clock.now();
    const method = req.method ?? 'GET';
    const id = `proxy-${++requestSeq}`;
    stats.requests++;
    methodStats(method).requests++;
    if (method === 'GET' && /[?&]list-type=/.test(req.url ?? '')) stats.lists++;
    else if (method === 'GET') stats.objectGets.push((req.url ?? '/').split('?')[0]!);
    else if (method === 'PUT') stats.objectPuts.push((req.url ?? '/').split('?')[0]!);

    // sampled now so that a profile change mid-request does not matter
    const lat = latency;
    const firstByteMs = lat ? Math.max(0, lat.firstByteMs + (lat.jitterMs ?? 0) * (2 * latencyRng() - 1)) : 0;
    // a store answers a PUT once it has the body, so an upload's (throttled) transfer comes first
    let bodyDoneAt = t0;
    req.once('end', () => (bodyDoneAt = clock.now()));
    const waitFirstByte = async () => {
      const wait = bodyDoneAt + firstByteMs - clock.now();
      if (wait > 0) await clock.sleep(wait);
    };

    const path = (req.url ?? '/').split('?')[0]!;
    const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
    if (held?.matches({ method, path, range })) await held.released;

    const fault = pickFault(method);
    if (fault !== null) {
      stats.faults++;
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      req.resume(); // drain the body so the client is not stuck writing it
      if (fault === 'timeout') return; // never answer; the socket goes when the client gives up or on close()
      await waitFirstByte();
      const [code, message] =
        fault === 503
          ? ['SlowDown', 'Please reduce your request rate.']
          : ['InternalError', 'We encountered an internal error. Please try again.'];
      const body = method === 'HEAD' ? '' : errorXml(code, message, req.url ?? '/', id);
      countStatus(fault);
      res.writeHead(fault, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-amz-request-id': id,
      });
      countOut(method)(Buffer.byteLength(body));
      res.end(body);
      return;
    }

    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;

    const upReq = transport.request({
      protocol: up.protocol,
      hostname: up.hostname,
      port: upPort,
      method,
      path: req.url,
      headers, // includes the client's Host header, which the signature covers
      agent,
    });
    upReq.setNoDelay(true); // Nagle + delayed ACK would add ~40 ms per small response on reused sockets

    const bps = lat ? lat.bandwidthMBps * 1e6 : 0;
    // pipe(), not pipeline(): an upstream error must not destroy the client socket before the 502 below
    const body = bps > 0 ? req.pipe(throttle(bps, clock)) : req;
    body.pipe(counter((n) => (stats.bytesIn += n))).pipe(upReq);
    req.on('error', () => upReq.destroy());

    upReq.on('error', (err) => {
      if (!res.headersSent) {
        const body = errorXml('BadGateway', `proxy: upstream ${err.message}`, req.url ?? '/', id);
        countStatus(502);
        res.writeHead(502, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.destroy(err);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });

    upReq.on('response', async (upRes) => {
      await waitFirstByte();
      if (res.destroyed) {
        upRes.destroy();
        return;
      }
      const outHeaders: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) outHeaders[k] = v;
      countStatus(upRes.statusCode ?? 502);
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, outHeaders);
      const resStages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [
        upRes,
        ...(bps > 0 ? [throttle(bps, clock)] : []),
        counter(countOut(method)),
        res,
      ];
      pipeline(resStages, () => {}); // on error pipeline destroys both ends, which is all we can do
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  // longer than reqwest's (Lance) and the AWS SDK's idle pools, so the proxy never closes a
  // connection a client is just about to reuse
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('proxy: no TCP address');

  return {
    url: `http://127.0.0.1:${addr.port}`,
    stats: () => structuredClone(stats),
    reset: () => {
      stats = emptyStats();
    },
    setLatency,
    setFaults,
    hold,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // includes requests parked by a 'timeout' fault
        agent.destroy();
      }),
  };
}
