import type { Logger } from 'pino';
import type { ImageCatalog } from '../catalog/catalog.js';
import type { EmbeddingBatcher } from '../embedding/embedding-batcher.js';
import { imageKey } from './image-key.js';
import { COLUMNS, type NewImageRow, type ImageRecord } from '../catalog/image-record.js';
import type { DecodeBudget } from './decode-budget.js';
import {
  contentId,
  decodeForModel,
  InvalidImageError,
  readHeader,
  type ProbeLimits,
  type ProbedImage,
} from './image-probe.js';
import type { ObjectStore } from '../storage/object-store.js';
import { StorageUnavailableError } from '../storage/storage-failures.js';
import type { AppendOutcome, CatalogWriter } from '../catalog/writer.js';
import type { ThumbnailService } from './thumbnails.js';

/** An uploaded file, read into memory (bounded by MAX_UPLOAD_BYTES). */
export interface IncomingFile {
  bytes: Uint8Array;
  filename: string | null;
}

export interface UploadOutcome {
  image: ImageRecord;
  created: boolean;
}

type NewUpload = { file: IncomingFile; id: string; probe: ProbedImage };

/**
 * Stores images: validate and hash, embed, write the bytes under their content address, then
 * commit the rows through the writer. Objects are always written before their rows, so a
 * failure in between can leave an unreferenced object (harmless, reclaimed by maintenance) but
 * never a row without its image.
 */
export class UploadService {
  /** New images being stored right now, so that concurrent uploads of the same bytes share one. */
  private readonly inFlight = new Map<string, Promise<UploadOutcome>>();

  /**
   * `decoding` bounds the memory of the images decoded at once, process-wide (DECODE_MEMORY_BYTES,
   * DECODE_CONCURRENCY): each decode holds its estimated cost meanwhile.
   */
  constructor(
    private readonly objects: ObjectStore,
    private readonly catalog: ImageCatalog,
    private readonly writer: CatalogWriter,
    private readonly batcher: EmbeddingBatcher,
    private readonly thumbnails: ThumbnailService,
    private readonly limits: ProbeLimits,
    private readonly decoding: DecodeBudget,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores every file or none: all are validated before anything is written, and the new rows
   * reach the writer together, so they become one dataset version.
   */
  async uploadAll(files: readonly IncomingFile[]): Promise<UploadOutcome[]> {
    const ids = files.map((file, i) => this.identify(file, i, files.length));
    const stored = await this.stored(ids);
    const probes = await this.probeUnknown(files, ids, stored);
    // Nothing awaits from here until the in-flight map is updated, so that concurrent requests
    // for the same bytes always see each other.
    const outcomes = new Map<string, Promise<UploadOutcome>>();
    const fresh: NewUpload[] = [];
    for (const [i, id] of ids.entries()) {
      // The same bytes twice in one request are stored once.
      if (outcomes.has(id) || fresh.some((upload) => upload.id === id)) continue;
      const running = this.inFlight.get(id);
      const probe = probes.get(id);
      const image = stored.get(id);
      if (running)
        outcomes.set(
          id,
          running.then((o) => ({ ...o, created: false })),
        );
      else if (image) outcomes.set(id, Promise.resolve({ image, created: false }));
      else if (this.writer.queued(id) || !probe) outcomes.set(id, this.existingOrStore(files[i]!, i, files.length, id));
      else fresh.push({ file: files[i]!, id, probe });
    }
    const storing = this.storeNew(fresh);
    for (const { id } of fresh) {
      const outcome = storing.then((results) => results.get(id)!);
      outcomes.set(id, outcome);
      this.inFlight.set(id, outcome);
      const forget = () => this.inFlight.delete(id);
      outcome.then(forget, forget);
    }
    const answered = new Set<string>();
    return Promise.all(
      ids.map(async (id) => {
        const outcome = await outcomes.get(id)!;
        // The second copy in one request was not created.
        if (answered.has(id)) return { ...outcome, created: false };
        answered.add(id);
        return outcome;
      }),
    );
  }

  /**
   * The stored images among `ids`, as the readers see the dataset now: one lookup through the id
   * index, so that stored bytes sent again are answered without decoding them. Those in flight or
   * queued in this process are left to their upload. A failed lookup finds none: the writer's
   * commit decides against the dataset anyway.
   */
  private async stored(ids: readonly string[]): Promise<Map<string, ImageRecord>> {
    const unknown = [...new Set(ids)].filter((id) => !this.inFlight.has(id) && !this.writer.queued(id));
    return this.catalog.get(unknown, COLUMNS).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'looking up the uploaded ids failed; the commit will check them');
      return new Map<string, ImageRecord>();
    });
  }

  /** The content address, after the checks that need no decoding. */
  private identify(file: IncomingFile, index: number, count: number): string {
    try {
      return contentId(file.bytes);
    } catch (error) {
      throw naming(error, file, index, count);
    }
  }

  /** Decodes each distinct file, except bytes stored already or being stored in this process (by hash). */
  private async probeUnknown(
    files: readonly IncomingFile[],
    ids: string[],
    stored: ReadonlyMap<string, ImageRecord>,
  ): Promise<Map<string, ProbedImage>> {
    const probing = new Map<string, Promise<ProbedImage | null>>();
    for (const [i, id] of ids.entries()) {
      if (probing.has(id)) continue;
      const known = stored.has(id) || this.inFlight.has(id) || this.writer.queued(id);
      probing.set(id, known ? Promise.resolve(null) : this.probe(files[i]!, i, files.length));
    }
    const probed = await Promise.all(probing.values());
    return new Map([...probing.keys()].flatMap((id, i) => (probed[i] ? [[id, probed[i]] as const] : [])));
  }

  /**
   * Reads the header, which refuses a file over the pixel or decode memory limit, then decodes
   * once the budget has room for what the header says the decode costs.
   */
  private async probe(file: IncomingFile, index: number, count: number): Promise<ProbedImage> {
    try {
      const header = await readHeader(file.bytes, this.limits);
      return await this.decoding.run(header.cost, () => decodeForModel(header, this.batcher.imageInput));
    } catch (error) {
      throw naming(error, file, index, count);
    }
  }

  private async storeNew(uploads: NewUpload[]): Promise<Map<string, UploadOutcome>> {
    const vectors = await Promise.all(uploads.map(({ probe }) => this.batcher.embedImage(probe.pixels)));
    const rows = uploads.map((upload, i) => newRow(upload, vectors[i]!));
    const committed = await this.persist(rows, uploads).catch((error: unknown) => {
      const level = error instanceof StorageUnavailableError ? 'warn' : 'error';
      this.logger[level]({ err: error, ids: rows.map((r) => r.id) }, 'storing images failed');
      // Objects are written before rows, so nothing half-written is visible. The store's own
      // message (S3, Lance) stays in the log, out of the answer.
      throw new StorageUnavailableError(
        'the image could not be stored (the storage failed); uploading it again is safe',
        { cause: error },
      );
    });
    const outcomes = new Map<string, UploadOutcome>();
    for (const [i, row] of rows.entries()) {
      const { created, version } = committed[i]!;
      this.logger.info({ id: row.id, created, version, size: row.size }, 'image stored');
      // Not created: another process committed the same bytes first, and the writer saw its row at `version`.
      const outcome = created ? { image: row, created } : await this.existing(row.id, version);
      if (!outcome) throw new Error(`image ${row.id} is not in version ${version}, where the writer found it`);
      outcomes.set(row.id, outcome);
    }
    return outcomes;
  }

  /** Writes every object and thumbnail, then hands every row to the writer in one tick: one group commit. */
  private async persist(rows: NewImageRow[], uploads: NewUpload[]): Promise<AppendOutcome[]> {
    await Promise.all(
      rows.flatMap((row, i) => {
        const { file, probe } = uploads[i]!;
        return [this.objects.put(row.key, file.bytes, row.contentType), this.thumbnails.store(row.id, probe.header)];
      }),
    );
    return Promise.all(rows.map((row) => this.writer.append(row)));
  }

  /**
   * The stored image as of `version`, or null when it is not there. Read at the version the
   * writer decided at, not at the readers' latest, which may be READ_CONSISTENCY_MS behind and
   * not have another process's row yet.
   */
  private async existing(id: string, version: number): Promise<UploadOutcome | null> {
    const image = (await this.catalog.get([id], COLUMNS, version)).get(id);
    return image ? { image, created: false } : null;
  }

  /** An id queued in the writer (or in flight at the lookup): its row once committed, or else the outcome of storing it again. */
  private async existingOrStore(file: IncomingFile, index: number, count: number, id: string): Promise<UploadOutcome> {
    await this.writer.settled(id);
    const found = await this.existing(id, await this.catalog.version());
    if (found) return found;
    // Deleted since, or committed by another process and not yet visible to this one's readers
    // (READ_CONSISTENCY_MS): the writer's append decides which, and names the version to read.
    const probe = await this.probe(file, index, count);
    return (await this.storeNew([{ file, id, probe }])).get(id)!;
  }
}

/** In a request with several files, a refusal says which file it is about. */
function naming(error: unknown, file: IncomingFile, index: number, count: number): unknown {
  if (!(error instanceof InvalidImageError) || count === 1) return error;
  return new InvalidImageError(`file ${index + 1} (${file.filename ?? 'unnamed'}): ${error.message}`);
}

function newRow({ file, id, probe }: NewUpload, vector: Float32Array): NewImageRow {
  return {
    id,
    key: imageKey(id, probe.ext),
    filename: file.filename,
    contentType: probe.contentType,
    size: file.bytes.byteLength,
    width: probe.width,
    height: probe.height,
    createdAt: new Date(),
    vector,
  };
}
