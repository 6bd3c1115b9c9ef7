import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';

/** Where the read endpoint forwards to: the real bucket's endpoint and credentials. */
export interface UpstreamOptions {
  endpoint: string;
  region: string;
  /** The service's credentials: from the settings, or the AWS SDK's chain (which may refresh them). */
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  timeoutMs: number;
}

/** One request to the bucket: a path-style `/bucket/key` path, its raw query, and the headers to sign. */
export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  /** Percent-encoded, as a client sent it (`/bucket/a%20b`); forwarded and signed unchanged. */
  path: string;
  /** Raw query string without `?`, as a client sent it. */
  query: string;
  headers: Record<string, string>;
}

/** SHA-256 of the empty body: reads carry none. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The hash interface the signer wants, over node:crypto (no extra hashing package). */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(chunk: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(chunk));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * Signs read requests with the real credentials and sends them to the real bucket. The
 * read endpoint's client (Lance) signed its request for the loopback host with a throwaway key,
 * so every forwarded request is signed again here.
 */
export class S3Upstream {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: http.Agent;

  constructor(private readonly options: UpstreamOptions) {
    this.url = new URL(options.endpoint);
    const transport = this.url.protocol === 'https:' ? https : http;
    this.agent = new transport.Agent({ keepAlive: true, maxSockets: 64 });
    // S3 signs the path as sent (already encoded once), hence uriEscapePath: false.
    this.signer = new SignatureV4({
      service: 's3',
      region: options.region,
      credentials: options.credentials,
      sha256: NodeSha256,
      uriEscapePath: false,
    });
  }

  /** Sends one signed request; the caller reads or pipes the response. */
  async send(request: UpstreamRequest): Promise<http.IncomingMessage> {
    const headers = await this.sign(request);
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          method: request.method,
          path: request.query ? `${request.path}?${request.query}` : request.path,
          headers,
          agent: this.agent,
          timeout: this.options.timeoutMs,
        },
        resolve,
      );
      req.setNoDelay(true);
      req.on('timeout', () => req.destroy(new Error(`upstream ${request.method} ${request.path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** A ranged GET read whole into memory, with the response's status and headers. */
  async getRange(
    path: string,
    start: number,
    end: number,
    ifMatch?: string,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const headers: Record<string, string> = { range: `bytes=${start}-${end}` };
    if (ifMatch) headers['if-match'] = ifMatch;
    const res = await this.send({ method: 'GET', path, query: '', headers });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) };
  }

  close(): void {
    this.agent.destroy();
  }

  private async sign(request: UpstreamRequest): Promise<Record<string, string>> {
    const host = this.url.host;
    const headers = { ...request.headers, host, 'x-amz-content-sha256': EMPTY_SHA256 };
    const signed = await this.signer.sign({
      method: request.method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: request.path,
      query: parseQuery(request.query),
      headers,
    });
    return signed.headers;
  }
}

/** Decodes a raw query the way S3 does: `%XX` escapes only (a `+` stays a plus). */
export function parseQuery(query: string): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const name = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    parsed[name] = at < 0 ? '' : decodeURIComponent(pair.slice(at + 1));
  }
  return parsed;
}
