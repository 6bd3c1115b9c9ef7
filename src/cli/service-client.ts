import { openAsBlob } from 'node:fs';
import pRetry, { AbortError } from 'p-retry';
import { MAX_ALIASES } from '../limits.js';
import type { LocalImage } from './image-files.js';

/** The service answered that this request is wrong (BAD_USER_INPUT, UNAUTHENTICATED...): sending it again cannot help. */
export class RefusedError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The request did not get through: no connection, a 5xx, or SERVICE_UNAVAILABLE (storage, or the model loading). */
export class TransientError extends Error {}

/** The run stopped before this request got through, so it was not sent (again). */
export class StoppedError extends Error {}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  /** Sent as `Authorization: Bearer <key>`; the service needs it for uploads when its API_KEY is set. */
  apiKey: string | undefined;
  /** Told about every failed attempt that will be retried. */
  onRetry?: (message: string) => void;
  /** Attempts after the first; they back off exponentially from 0.5 s to 8 s (about 40 s in all). */
  retries?: number;
  /**
   * Aborted when the run stops: no attempt starts after it, while an attempt in flight still gets
   * its answer (the service acts on a request it has received whether or not the answer is read).
   */
  stop?: AbortSignal;
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

const UPLOAD_MANY = 'mutation ($files: [Upload!]!) { uploadImages(files: $files) { created image { id } } }';

/** What the CLI asks of the service, over its public GraphQL endpoint, with retries for transient failures. */
export class ServiceClient {
  /** Bytes of files sent in upload requests, retries included. */
  bytesSent = 0;
  /** Ends the requests in flight, for a run that will not wait for their answers. */
  private readonly abandoned = new AbortController();

  constructor(private readonly options: ClientOptions) {}

  /** Gives up on the answers still awaited: their requests fail, and nothing keeps the process alive. */
  abandon(): void {
    this.abandoned.abort();
  }

  /**
   * The ids among `ids` that the service has stored: one `image(id:)` per alias, so at most
   * MAX_ALIASES ids per operation (the service refuses more); ask in chunks of that size.
   */
  async storedIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length > MAX_ALIASES) throw new Error(`at most ${MAX_ALIASES} ids per question, got ${ids.length}`);
    const fields = ids.map((id, i) => `i${i}: image(id: ${JSON.stringify(id)}) { id }`);
    const data = await this.post<Record<string, { id: string } | null>>(() => ({
      body: JSON.stringify({ query: `{ ${fields.join(' ')} }` }),
      headers: { 'content-type': 'application/json' },
    }));
    return new Set(Object.values(data).flatMap((image) => (image ? [image.id] : [])));
  }

  /** Uploads the files in one multipart request: all are stored, or the request is refused. */
  async upload(files: readonly LocalImage[]): Promise<Array<{ created: boolean; id: string }>> {
    const data = await this.post<{ uploadImages: Array<{ created: boolean; image: { id: string } }> }>(async () => {
      const form = new FormData();
      form.set('operations', JSON.stringify({ query: UPLOAD_MANY, variables: { files: files.map(() => null) } }));
      form.set('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [i, [`variables.files.${i}`]]))));
      // Blobs backed by the files: read from disk while the request is sent, not held in memory.
      const blobs = await Promise.all(files.map((file) => openAsBlob(file.path)));
      blobs.forEach((blob, i) => form.set(String(i), blob, files[i]!.path.split(/[\\/]/).pop()));
      this.bytesSent += files.reduce((sum, file) => sum + file.size, 0);
      // Multipart bodies are read only with this header (CSRF protection: a cross-site form cannot send it).
      return { body: form, headers: { 'apollo-require-preflight': 'true', ...this.authorization() } };
    });
    return data.uploadImages.map(({ created, image }) => ({ created, id: image.id }));
  }

  private authorization(): Record<string, string> {
    return this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
  }

  /**
   * POSTs a request built anew for every attempt; retries transient failures, never a refusal.
   * Once the run stops no attempt starts, and a wait between attempts ends with a {@link StoppedError}.
   */
  private async post<T>(request: () => RequestInit | Promise<RequestInit>): Promise<T> {
    const { stop } = this.options;
    let answered: { data: T } | undefined;
    try {
      return await pRetry(
        async () => {
          try {
            const data = await this.once<T>(await request());
            answered = { data };
            return data;
          } catch (error) {
            throw error instanceof TransientError ? error : new AbortError(error as Error);
          }
        },
        {
          retries: this.options.retries ?? 6,
          minTimeout: 500,
          maxTimeout: 8000,
          randomize: true,
          signal: stop,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0 && !stop?.aborted) {
              this.options.onRetry?.(`attempt ${attemptNumber} failed (${error.message}); retrying`);
            }
          },
        },
      );
    } catch (error) {
      // p-retry drops the answer of an attempt that was in flight when the signal aborted; the
      // service has acted on that request, so its answer stands.
      if (answered) return answered.data;
      if (stop?.aborted && !(error instanceof RefusedError)) throw new StoppedError('not sent: the run was stopped');
      throw error;
    }
  }

  private async once<T>(init: RequestInit): Promise<T> {
    const { url } = this.options;
    const request = { method: 'POST', ...init, signal: this.abandoned.signal };
    const response = await fetch(url, request).catch((error: Error) => {
      throw new TransientError(`cannot reach ${url}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
    });
    const answer = (await response.json().catch(() => ({}))) as GraphQLAnswer<T>;
    const [error] = answer.errors ?? [];
    const code = error?.extensions?.code;
    if (response.status >= 500 || response.status === 429 || code === 'SERVICE_UNAVAILABLE') {
      throw new TransientError(error?.message ?? `HTTP ${response.status}`);
    }
    if (error) throw new RefusedError(error.message, code ?? `HTTP ${response.status}`);
    if (!response.ok || !answer.data) throw new RefusedError(`HTTP ${response.status} without data`, 'HTTP');
    return answer.data;
  }
}
