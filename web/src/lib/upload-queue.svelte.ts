/**
 * Uploads many files in batched `uploadImages` requests, tracking each file's progress and
 * outcome. The service refuses a whole batch when one file in it is bad (and writes nothing),
 * so a refused batch is sent again one file per request: each file then gets its own answer.
 */
import { upload } from './api/client';
import { ApiError, explain } from './api/errors';
import { UploadImages } from './api/operations';

/** Files per request and bytes per request, inside the service's defaults (32 files, 64 MiB). */
const BATCH_FILES = 8;
const BATCH_BYTES = 16 * 1024 * 1024;

export type Outcome = 'waiting' | 'sending' | 'stored' | 'already stored' | 'refused';

export class QueuedFile {
  sent = $state(0);
  outcome = $state<Outcome>('waiting');
  reason = $state<string | null>(null);
  id = $state<string | null>(null);

  constructor(readonly file: File) {}
}

export class UploadQueue {
  files = $state<QueuedFile[]>([]);

  readonly total = $derived(this.files.reduce((sum, f) => sum + f.file.size, 0));
  readonly sent = $derived(this.files.reduce((sum, f) => sum + f.sent, 0));
  readonly done = $derived(this.files.filter((f) => !['waiting', 'sending'].includes(f.outcome)).length);

  /** Sends `files` after whatever is queued; resolves when all are answered. */
  async add(files: readonly File[]): Promise<void> {
    const queued = files.map((file) => new QueuedFile(file));
    this.files = [...this.files, ...queued];
    for (const batch of batches(queued)) await this.send(batch, true);
  }

  private async send(batch: QueuedFile[], retryAlone: boolean): Promise<void> {
    for (const f of batch) f.outcome = 'sending';
    try {
      const { uploadImages } = await upload(
        UploadImages,
        batch.map((f) => f.file),
        (sent) => spread(batch, sent),
      );
      uploadImages.forEach(({ created, image }, i) => {
        const f = batch[i]!;
        f.sent = f.file.size;
        f.outcome = created ? 'stored' : 'already stored';
        f.id = image.id;
      });
    } catch (error) {
      const perFile = error instanceof ApiError && error.code === 'BAD_USER_INPUT';
      if (retryAlone && perFile && batch.length > 1) {
        for (const f of batch) await this.send([f], false);
        return;
      }
      for (const f of batch) {
        f.outcome = 'refused';
        f.reason = explain(error);
      }
    }
  }
}

/** Consecutive runs of files within the batch limits. */
function batches(files: QueuedFile[]): QueuedFile[][] {
  const out: QueuedFile[][] = [];
  let bytes = 0;
  for (const f of files) {
    const last = out.at(-1);
    if (last && last.length < BATCH_FILES && bytes + f.file.size <= BATCH_BYTES) {
      last.push(f);
      bytes += f.file.size;
    } else {
      out.push([f]);
      bytes = f.file.size;
    }
  }
  return out;
}

/** A request's sent bytes, shared among its files in order (multipart sends them in order). */
function spread(batch: QueuedFile[], sent: number): void {
  let left = sent;
  for (const f of batch) {
    f.sent = Math.min(f.file.size, Math.max(0, left));
    left -= f.file.size;
  }
}
