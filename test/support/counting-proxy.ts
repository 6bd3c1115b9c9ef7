// An HTTP proxy in front of a service that counts the requests passing through it, by kind, for
// tests that must prove what a client did or did not send (not by the client's own account).
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  /** http://127.0.0.1:{port}: the service's paths, proxied. */
  url: string;
  /** Multipart (upload) requests that reached the service, and their body bytes. */
  multipart: { requests: number; bytes: number };
  /** Every other request that reached the service. */
  other: { requests: number };
  /** 503s the proxy answered itself (see {@link failNext}). */
  unavailable: number;
  /** The next `count` requests get a 503 SERVICE_UNAVAILABLE, as from a service whose model is loading. */
  failNext(count: number): void;
  /**
   * Upload requests after the first `count` still reach the service, which acts on them, but their
   * answers are held back from the client until {@link releaseAnswers}: requests in flight, on demand.
   */
  holdAnswersAfter(count: number): void;
  /** Upload answers the service has given that the client has not got. */
  heldAnswers(): number;
  releaseAnswers(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  let failing = 0;
  let answeredFreely = Infinity;
  let held: Array<() => void> = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (failing > 0) {
      failing--;
      proxy.unavailable++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      return res.end(
        JSON.stringify({ errors: [{ message: 'starting', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }),
      );
    }
    const upload = String(req.headers['content-type']).startsWith('multipart/form-data');
    const hold = upload && proxy.multipart.requests >= answeredFreely;
    if (upload) {
      proxy.multipart.requests++;
      proxy.multipart.bytes += body.byteLength;
    } else {
      proxy.other.requests++;
    }
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        if (!hold) return answer.pipe(res.writeHead(answer.statusCode ?? 502, answer.headers));
        // Read whole before it is held: the service has finished with the request once its answer has ended.
        void readBody(answer).then((body) =>
          held.push(() => res.writeHead(answer.statusCode ?? 502, answer.headers).end(body)),
        );
      },
    );
    forwarded.on('error', () => res.destroy());
    forwarded.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CountingProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    multipart: { requests: 0, bytes: 0 },
    other: { requests: 0 },
    unavailable: 0,
    failNext: (count) => void (failing = count),
    holdAnswersAfter: (count) => void (answeredFreely = count),
    heldAnswers: () => held.length,
    releaseAnswers: () => {
      answeredFreely = Infinity;
      for (const send of held) send();
      held = [];
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
