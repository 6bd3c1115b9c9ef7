import type { Request } from 'express';
import { RequestError } from '../errors.js';

export interface AdmissionOptions {
  /** UPLOAD_BUFFER_BYTES: upload bytes held in memory at once, across every request. */
  bufferBytes: number;
  /** UPLOAD_CLIENT_BODIES: upload requests one client address may have in flight (arriving, waiting or processed). */
  clientBodies: number;
  /** UPLOAD_MIN_BYTES_PER_SEC: the slowest a body may arrive, on average, once its grace is over. */
  minBytesPerSecond: number;
  /** UPLOAD_RATE_GRACE_MS: how long a body may arrive at any rate before the minimum applies. */
  rateGraceMs: number;
  /** UPLOAD_BODY_TIMEOUT_MS: the longest a body may take to arrive, whatever its rate. */
  bodyTimeoutMs: number;
}

/** One body being received: what it holds of the budget, and how to stop watching it. */
export interface Arrival {
  /** Counts bytes as they come; false when the budget has no room for them. */
  take(bytes: number): boolean;
  /** Gives back every byte taken and the client's place; idempotent. */
  release(): void;
}

/**
 * Who may send an upload body, and for how long. A body holds memory from its first byte to its
 * answer, so a slow or stalled client holds only what it has sent, not a processing slot: the
 * bytes of all bodies share one budget (a body past it gets a 503 to retry), each client address
 * may send a few bodies at once (a 429 past that), and a body must keep arriving at a minimum
 * rate once its grace is over (a 408 otherwise), so trickling clients are cut off in seconds.
 */
export class UploadAdmission {
  private held = 0;
  private readonly arriving = new Map<string, number>();

  constructor(private readonly options: AdmissionOptions) {}

  /** Bytes of upload bodies held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Admits a body from `req`'s client, or throws the refusal (429) to answer with. */
  admit(req: Request): Arrival {
    const client = req.socket.remoteAddress ?? '';
    const sending = this.arriving.get(client) ?? 0;
    if (sending >= this.options.clientBodies) {
      throw new RequestError(
        429,
        `this client is already sending ${sending} upload bodies (UPLOAD_CLIENT_BODIES); retry when one is done`,
        'RATE_LIMITED',
        1,
      );
    }
    this.arriving.set(client, sending + 1);
    let taken = 0;
    let released = false;
    return {
      take: (bytes) => {
        if (released) return true;
        if (this.held + bytes > this.options.bufferBytes) return false;
        this.held += bytes;
        taken += bytes;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.held -= taken;
        const left = (this.arriving.get(client) ?? 1) - 1;
        if (left > 0) this.arriving.set(client, left);
        else this.arriving.delete(client);
      },
    };
  }

  /**
   * Calls `refuse` once if the body has not arrived within the timeout, or has fallen below the
   * minimum rate after its grace. Returns the function that stops watching.
   */
  watch(received: () => number, refuse: (error: RequestError) => void): () => void {
    const { bodyTimeoutMs, minBytesPerSecond, rateGraceMs } = this.options;
    const started = Date.now();
    const check = () => {
      const elapsed = Date.now() - started;
      if (elapsed >= bodyTimeoutMs) {
        return refuse(
          new RequestError(
            408,
            `the request body did not arrive within ${bodyTimeoutMs} ms (UPLOAD_BODY_TIMEOUT_MS)`,
            'BAD_REQUEST',
          ),
        );
      }
      const owed = ((elapsed - rateGraceMs) / 1000) * minBytesPerSecond;
      if (owed > 0 && received() < owed) {
        const rate = Math.round(received() / (elapsed / 1000));
        refuse(
          new RequestError(
            408,
            `the request body arrived at ${rate} bytes/s, under the minimum of ${minBytesPerSecond} (UPLOAD_MIN_BYTES_PER_SEC)`,
            'BAD_REQUEST',
          ),
        );
      }
    };
    const ticker = setInterval(check, Math.min(1000, bodyTimeoutMs, Math.max(rateGraceMs, 100)));
    ticker.unref();
    return () => clearInterval(ticker);
  }
}

/** The refusal for a body that found the budget full. */
export function bufferFull(bufferBytes: number): RequestError {
  return new RequestError(
    503,
    `the service holds as many upload bytes as it may (UPLOAD_BUFFER_BYTES ${bufferBytes}); retry shortly`,
    'SERVICE_UNAVAILABLE',
    1,
  );
}
