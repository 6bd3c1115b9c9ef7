import pLimit from 'p-limit';
import { MAX_ALIASES } from '../limits.js';
import { identify, type LocalImage } from './image-files.js';
import { RefusedError, StoppedError, TransientError, type ServiceClient } from './service-client.js';
import type { FileResult } from './upload-report.js';

export interface BulkUploadOptions {
  /** Requests in flight at once. */
  concurrency: number;
  /** Files per uploadImages request. */
  batch: number;
  /** Aborted when the run is interrupted: nothing more is sent; requests in flight still get their answers. */
  stop?: AbortSignal;
}

/**
 * Uploads many files, sending only the bytes the service does not have: each file is hashed
 * locally (the sha256 is the id the service stores it under), the service is asked which of those
 * ids it has, and only the rest are uploaded, `batch` files per request. Files go through this in
 * chunks, `concurrency` chunks at a time, so results arrive from the start. Every file gets one
 * result: files the run never sent because it was stopped are 'not-sent'.
 */
export class BulkUpload {
  /** The first file seen with each id: later files with the same bytes are not sent again. */
  private readonly firstWithId = new Map<string, string>();
  /** Set once a request has failed through all its retries: the rest fail at once instead of each retrying. */
  private unreachable: TransientError | undefined;
  /** Files without a result yet. */
  private readonly pending = new Set<string>();
  /** Files in upload requests awaiting their answers, with their ids. */
  private readonly sending = new Map<string, string>();

  constructor(
    private readonly client: ServiceClient,
    private readonly options: BulkUploadOptions,
    private readonly record: (result: FileResult) => void,
  ) {}

  /** Files in upload requests whose answers have not come yet. */
  get filesInFlight(): number {
    return this.sending.size;
  }

  async run(files: readonly string[]): Promise<void> {
    for (const file of files) this.pending.add(file);
    // A chunk asks about its ids in questions of MAX_ALIASES and fills whole batches where it can.
    const size = Math.max(MAX_ALIASES, this.options.batch);
    const slots = pLimit(this.options.concurrency);
    await Promise.all(chunks(files, size).map((chunk) => slots(() => this.chunk(chunk))));
  }

  /**
   * Ends the run where it stands, for a caller that will wait no longer: every file without a
   * result gets one now ('no-answer' if its request was sent, since the service may have stored
   * it; 'not-sent' otherwise), and results that come later are dropped.
   */
  abandon(reason: string): void {
    for (const file of this.pending) {
      const id = this.sending.get(file);
      this.record(id === undefined ? { file, status: 'not-sent' } : { file, id, status: 'no-answer', reason });
    }
    this.pending.clear();
  }

  /** Records a file's one result; one after {@link abandon} is dropped. */
  private done(result: FileResult): void {
    if (this.pending.delete(result.file)) this.record(result);
  }

  private async chunk(files: readonly string[]): Promise<void> {
    if (this.options.stop?.aborted) {
      for (const file of files) this.done({ file, status: 'not-sent' });
      return;
    }
    if (this.unreachable) {
      for (const file of files) this.done({ file, status: 'failed', reason: this.unreachable.message });
      return;
    }
    const images = (await Promise.all(files.map((file) => this.read(file)))).filter((i) => i !== undefined);
    const unseen = images.filter((image) => this.firstSeen(image));
    const missing: LocalImage[] = [];
    for (const question of chunks(unseen, MAX_ALIASES)) {
      const stored = await this.storedIds(question);
      if (!stored) continue;
      for (const image of question) {
        if (stored.has(image.id)) this.done({ file: image.path, id: image.id, status: 'already-stored' });
        else missing.push(image);
      }
    }
    for (const batch of chunks(missing, this.options.batch)) await this.upload(batch);
  }

  private async read(file: string): Promise<LocalImage | undefined> {
    return identify(file).catch((error: Error) => {
      this.done({ file, status: 'failed', reason: `cannot read the file: ${error.message}` });
      return undefined;
    });
  }

  /** True for the first file with these bytes; a later one is recorded as already stored, as the service would. */
  private firstSeen(image: LocalImage): boolean {
    const first = this.firstWithId.get(image.id);
    if (first === undefined) {
      this.firstWithId.set(image.id, image.path);
      return true;
    }
    this.done({ file: image.path, id: image.id, status: 'already-stored', reason: `same bytes as ${first}` });
    return false;
  }

  private async storedIds(images: readonly LocalImage[]): Promise<Set<string> | undefined> {
    try {
      return await this.client.storedIds(images.map((image) => image.id));
    } catch (error) {
      for (const image of images) this.fail(image, error);
      return undefined;
    }
  }

  /**
   * One request for the batch. The service validates a request's files together and refuses all
   * of them for one bad file, so a refused batch is sent again one file per request: the good
   * files get stored, and each refusal is about its own file. A single file refused is final.
   */
  private async upload(batch: readonly LocalImage[]): Promise<void> {
    for (const image of batch) this.sending.set(image.path, image.id);
    try {
      const answers = await this.client.upload(batch).finally(() => {
        for (const image of batch) this.sending.delete(image.path);
      });
      for (const [i, image] of batch.entries()) {
        const { created } = answers[i]!;
        this.done({ file: image.path, id: image.id, status: created ? 'stored' : 'already-stored' });
      }
    } catch (error) {
      if (error instanceof RefusedError && error.code === 'BAD_USER_INPUT' && batch.length > 1) {
        for (const image of batch) await this.upload([image]);
      } else {
        for (const image of batch) this.fail(image, error);
      }
    }
  }

  private fail(image: LocalImage, error: unknown): void {
    if (error instanceof StoppedError) return this.done({ file: image.path, id: image.id, status: 'not-sent' });
    if (error instanceof TransientError) this.unreachable ??= error;
    const refused = error instanceof RefusedError && error.code === 'BAD_USER_INPUT';
    const reason = error instanceof Error ? error.message : String(error);
    this.done({ file: image.path, id: image.id, status: refused ? 'refused' : 'failed', reason });
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
