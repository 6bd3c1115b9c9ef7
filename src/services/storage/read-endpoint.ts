/**
 * A read-only S3 endpoint on loopback for Lance's read connection: GETs of immutable Lance
 * objects come from the {@link ObjectCache} on local disk; everything else (listings, HEADs and
 * GETs of objects not in the cache or not immutable, conditional requests) goes to the real
 * bucket, signed again with the real credentials.
 *
 * Why an endpoint: LanceDB's Node API (0.37 to 0.39) takes no custom object store, only storage options,
 * and an S3 endpoint is one of them. Behind it, Lance keeps listing the bucket itself (the
 * background refresh sees other replicas' commits within READ_CONSISTENCY_MS), and only bytes
 * that can never change come from disk. The versions the service reads most are also opened as
 * a local dataset of links into the same cache (dataset-mirror.ts), which saves the ~0.2 ms each
 * small read costs through this endpoint; the endpoint stays how versions are found, and serves
 * every version the mirror does not hold.
 *
 * Lance's object_store S3 client sends path-style requests (`/bucket/key`), GETs with a `Range`
 * of `bytes=a-b`, and needs Content-Length, ETag and Last-Modified (and Content-Range on a 206).
 * It signs with a per-process random key that only this process knows: the endpoint checks each
 * request's signature with it (request-signature.ts) and serves only the service's own prefix
 * (read-scope.ts), so that no other local process borrows the real credentials through it, even
 * one that reads the key id off loopback traffic. Writes are refused (they go straight to the
 * bucket on the write connection).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import type { Logger } from 'pino';
import { ObjectCache, type CacheStats, type ObjectInfo } from './object-cache.js';
import { outOfScope, type ReadScope } from './read-scope.js';
import { SignatureCheck } from './request-signature.js';
import { S3Upstream, type UpstreamOptions } from './s3-upstream.js';

/** Keys under a `*.lance/` dataset that Lance never rewrites once written. */
const IMMUTABLE =
  /\.lance\/(data\/[^/]+\.lance|_indices\/.+|_deletions\/[^/]+|_versions\/\d+\.manifest|_transactions\/[^/]+)$/;

/** Request headers that travel to the bucket; the client's signature headers never do. */
const FORWARDED = ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export interface ReadEndpointOptions {
  upstream: UpstreamOptions;
  /** The bucket and prefix the endpoint serves; every other read is refused. */
  scope: ReadScope;
  cacheDir: string;
  cacheBytes: number;
  logger?: Logger;
}

export interface ReadEndpoint {
  /** `http://127.0.0.1:port`, for `aws_endpoint`. */
  url: string;
  /** The random per-process credentials Lance signs with, and the endpoint checks. */
  accessKeyId: string;
  secretAccessKey: string;
  cache: ObjectCache;
  stats(): ReadEndpointStats;
  close(): Promise<void>;
}

export interface ReadEndpointStats {
  /** Requests answered from the object cache, and passed through to the bucket. */
  served: { cache: number; bucket: number };
  cache: CacheStats;
}

export async function startReadEndpoint(options: ReadEndpointOptions): Promise<ReadEndpoint> {
  const upstream = new S3Upstream(options.upstream);
  const cache = await ObjectCache.open(options.cacheDir, options.cacheBytes, (key, start, end, ifMatch) =>
    fetchRange(upstream, key, start, end, ifMatch),
  );
  cache.onCorrupt = (key, reason) => options.logger?.warn({ key, reason }, 'dropped a corrupt object cache entry');
  const key = {
    accessKeyId: `LOOPBACK${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(24).toString('hex'),
    region: options.upstream.region,
  };
  const handler = new RequestHandler(upstream, cache, new SignatureCheck(key), options.scope, options.logger);
  const server = http.createServer((req, res) => {
    handler.handle(req, res).catch((error: unknown) => {
      options.logger?.warn({ err: error, url: req.url }, 'read endpoint request failed');
      if (!res.headersSent) sendError(res, 502, 'BadGateway', String(error));
      else res.destroy();
    });
  });
  // Longer than the client's idle pool, so the server never closes a connection Lance is reusing.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // The endpoint serves the service; it must not keep a process alive whose service failed to start.
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accessKeyId: key.accessKeyId,
    secretAccessKey: key.secretAccessKey,
    cache,
    stats: () => ({ served: { ...handler.served }, cache: cache.stats() }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      const filling = cache.close();
      upstream.close();
      await Promise.all([closed, filling]);
    },
  };
}

class RequestHandler {
  readonly served = { cache: 0, bucket: 0 };

  constructor(
    private readonly upstream: S3Upstream,
    private readonly cache: ObjectCache,
    private readonly signatures: SignatureCheck,
    private readonly scope: ReadScope,
    private readonly logger?: Logger,
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume(); // reads carry no body
    const method = req.method ?? '';
    const url = req.url ?? '/';
    const refusal = await this.signatures.refusal(method, url, req.headers);
    if (refusal) return sendError(res, 403, refusal.code, refusal.message);
    if (method !== 'GET' && method !== 'HEAD') {
      return sendError(res, 405, 'MethodNotAllowed', 'the read endpoint only reads');
    }
    const at = url.indexOf('?');
    const rawPath = at < 0 ? url : url.slice(0, at);
    const query = at < 0 ? '' : url.slice(at + 1);
    const outside = outOfScope(rawPath, query, this.scope);
    if (outside) return sendError(res, 403, 'AccessDenied', outside);
    const conditional = Object.keys(req.headers).some((h) => h.startsWith('if-'));
    // The cache is keyed by the path as sent: one client (Lance) encodes each key one way.
    if (!query && !conditional && IMMUTABLE.test(decodeURIComponent(rawPath))) {
      if (method === 'HEAD' && this.headFromCache(rawPath, res)) return void this.served.cache++;
      if (method === 'GET' && (await this.getFromCache(rawPath, req.headers.range, res)))
        return void this.served.cache++;
    }
    this.served.bucket++;
    await this.passThrough(req, res, { method, path: rawPath, query });
  }

  /** An immutable object's size and ETag cannot change, so a cached entry answers its HEAD. */
  private headFromCache(key: string, res: http.ServerResponse): boolean {
    const info = this.cache.info(key);
    if (!info) return false;
    res.writeHead(200, objectHeaders(info, info.size));
    res.end();
    return true;
  }

  private async getFromCache(key: string, range: string | undefined, res: http.ServerResponse): Promise<boolean> {
    const pick = rangePicker(range);
    if (!pick) return false;
    const hit = await this.cache.read(key, pick);
    if (!hit) return false;
    const headers = objectHeaders(hit.info, hit.body.length);
    if (range) headers['content-range'] = `bytes ${hit.start}-${hit.end}/${hit.info.size}`;
    res.writeHead(range ? 206 : 200, headers);
    res.end(hit.body);
    return true;
  }

  private async passThrough(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: { method: 'GET' | 'HEAD'; path: string; query: string },
  ): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upRes = await this.upstream.send({ ...target, headers });
    const outHeaders: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upRes.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) outHeaders[name] = value;
    }
    const params = new URLSearchParams(target.query);
    if (upRes.statusCode === 200 && isManifestListing(params)) {
      const chunks: Buffer[] = [];
      for await (const chunk of upRes) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      await this.forgetChangedManifests(target.path, params.get('encoding-type') === 'url', body.toString('utf8'));
      res.writeHead(200, upRes.statusMessage, outHeaders);
      res.end(body);
      return;
    }
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, outHeaders);
    pipeline(upRes, res, () => {});
  }

  /**
   * A version manifest is the one cached object whose key can come back with other bytes: when a
   * dataset is deleted and made again under the same path, its versions start from 1 again. Lance
   * lists `_versions/` before it reads a manifest (to find the latest), so every listing that
   * passes here drops the cached manifests whose size or ETag it shows changed.
   */
  private async forgetChangedManifests(bucketPath: string, urlEncoded: boolean, xml: string): Promise<void> {
    const listed = new Map<string, { size: number; etag: string }>();
    for (const [, contents] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const field = (name: string) => unescapeXml(new RegExp(`<${name}>([^<]*)</${name}>`).exec(contents!)?.[1] ?? '');
      const key = urlEncoded ? decodeURIComponent(field('Key').replace(/\+/g, ' ')) : field('Key');
      listed.set(`${decodeURIComponent(bucketPath)}/${key}`, { size: Number(field('Size')), etag: field('ETag') });
    }
    for (const cached of [...this.cache.keys()]) {
      if (!cached.endsWith('.manifest')) continue;
      const found = listed.get(decodeURIComponent(cached));
      if (found && (await this.cache.forgetIfChanged(cached, found))) {
        this.logger?.info({ key: cached }, 'dropped a cached manifest the bucket now holds other bytes under');
      }
    }
  }
}

/** A ListObjectsV2 request for a prefix under a dataset's `_versions/`. */
function isManifestListing(params: URLSearchParams): boolean {
  return params.has('list-type') && (params.get('prefix') ?? '').includes('_versions');
}

/**
 * Turns a Range header into a function of the object's size; null for what the cache leaves to
 * the bucket (several ranges, or a malformed header). The picker's null (a range past the end)
 * also goes to the bucket, which answers 416.
 */
function rangePicker(range: string | undefined): ((size: number) => { start: number; end: number } | null) | null {
  if (!range) return (size) => ({ start: 0, end: size - 1 });
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (!match[1] && !match[2])) return null;
  const [, first, last] = match;
  if (!first) {
    const suffix = Number(last);
    return (size) => (suffix > 0 && size > 0 ? { start: Math.max(0, size - suffix), end: size - 1 } : null);
  }
  const start = Number(first);
  const end = last ? Number(last) : Infinity;
  if (end < start) return null;
  return (size) => (start < size ? { start, end: Math.min(end, size - 1) } : null);
}

function objectHeaders(info: ObjectInfo, length: number): http.OutgoingHttpHeaders {
  return {
    'content-length': length,
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: info.etag,
    'last-modified': info.lastModified,
  };
}

/** One ranged GET for the cache's fills: the object's size from Content-Range, or the body of a 200. */
async function fetchRange(upstream: S3Upstream, key: string, start: number, end: number, ifMatch?: string) {
  const { status, headers, body } = await upstream.getRange(key, start, end, ifMatch);
  if (status !== 200 && status !== 206) throw new Error(`GET ${key}: upstream answered ${status}`);
  const total = status === 206 ? Number(/\/(\d+)$/.exec(headers['content-range'] ?? '')?.[1]) : body.length;
  if (!Number.isSafeInteger(total) || !headers.etag || !headers['last-modified']) {
    throw new Error(`GET ${key}: upstream answer lacks Content-Range, ETag or Last-Modified`);
  }
  return { info: { size: total, etag: headers.etag, lastModified: headers['last-modified'] }, body };
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescapeXml(text: string): string {
  return text.replace(/&(quot|apos|lt|gt|amp|#\d+|#x[0-9a-f]+);/gi, (whole, name: string) => {
    const named: Record<string, string> = { quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' };
    if (name[0] !== '#') return named[name.toLowerCase()] ?? whole;
    return String.fromCodePoint(
      name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1)),
    );
  });
}
