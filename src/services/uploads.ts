import type { Logger } from 'pino';
import type { ImageCatalog } from './catalog.js';
import type { EmbeddingBatcher } from './embedding-batcher.js';
import { COLUMNS, type NewImageRow, type ImageRecord } from './image-record.js';
import { InvalidImageError, probeImage, type ProbeLimits, type ProbedImage } from './image-probe.js';
import type { ObjectStore } from './object-store.js';
import type { AppendOutcome, CatalogWriter } from './writer.js';

/** An uploaded file, read into memory (bounded by MAX_UPLOAD_BYTES). */
export interface IncomingFile {
  bytes: Uint8Array;
  filename: string | null;
}

export interface UploadOutcome {
  image: ImageRecord;
  created: boolean;
}

type NewUpload = { file: IncomingFile; probe: ProbedImage };

/** The storage (object store or dataset) failed; nothing half-written is visible, and a retry is safe. */
export class StorageError extends Error {}

/**
 * Stores images: validate and hash, embed, write the bytes under their content address, then
 * commit the rows through the writer. Objects are always written before their rows, so a
 * failure in between can leave an unreferenced object (harmless, reclaimed by maintenance) but
 * never a row without its image.
 */
export class UploadService {
  /** New images being stored right now, so that concurrent uploads of the same bytes share one. */
  private readonly inFlight = new Map<string, Promise<UploadOutcome>>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly catalog: ImageCatalog,
    private readonly writer: CatalogWriter,
    private readonly batcher: EmbeddingBatcher,
    private readonly limits: ProbeLimits,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores every file or none: all are validated before anything is written, and the new rows
   * reach the writer together, so they become one dataset version.
   */
  async uploadAll(files: readonly IncomingFile[]): Promise<UploadOutcome[]> {
    const probes = await Promise.all(files.map((file, i) => this.probe(file, i, files.length)));
    // Nothing awaits from here until the in-flight map is updated, so that concurrent requests
    // for the same bytes always see each other.
    const outcomes = new Map<string, Promise<UploadOutcome>>();
    const fresh: NewUpload[] = [];
    for (const [i, probe] of probes.entries()) {
      const running = this.inFlight.get(probe.id);
      if (outcomes.has(probe.id)) continue;
      if (running)
        outcomes.set(
          probe.id,
          running.then((o) => ({ ...o, created: false })),
        );
      else if (this.writer.has(probe.id)) outcomes.set(probe.id, this.existingOrStore({ file: files[i]!, probe }));
      else fresh.push({ file: files[i]!, probe });
    }
    const stored = this.storeNew(fresh);
    for (const { probe } of fresh) {
      const outcome = stored.then((results) => results.get(probe.id)!);
      outcomes.set(probe.id, outcome);
      this.inFlight.set(probe.id, outcome);
      const forget = () => this.inFlight.delete(probe.id);
      outcome.then(forget, forget);
    }
    const answered = new Set<string>();
    return Promise.all(
      probes.map(async ({ id }) => {
        const outcome = await outcomes.get(id)!;
        // The same bytes twice in one request: the second copy was not created.
        if (answered.has(id)) return { ...outcome, created: false };
        answered.add(id);
        return outcome;
      }),
    );
  }

  private async probe(file: IncomingFile, index: number, count: number): Promise<ProbedImage> {
    try {
      return await probeImage(file.bytes, this.limits);
    } catch (error) {
      if (error instanceof InvalidImageError && count > 1) {
        throw new InvalidImageError(`file ${index + 1} (${file.filename ?? 'unnamed'}): ${error.message}`);
      }
      throw error;
    }
  }

  private async storeNew(uploads: NewUpload[]): Promise<Map<string, UploadOutcome>> {
    const vectors = await Promise.all(uploads.map(({ file }) => this.batcher.embedImage(file.bytes)));
    const rows = uploads.map(({ file, probe }, i) => newRow(file, probe, vectors[i]!));
    const committed = await this.persist(rows, uploads).catch((error: unknown) => {
      this.logger.error({ err: error, ids: rows.map((r) => r.id) }, 'storing images failed');
      throw new StorageError(
        `the image could not be stored (${(error as Error).message}); uploading it again is safe`,
        {
          cause: error,
        },
      );
    });
    const outcomes = new Map<string, UploadOutcome>();
    for (const [i, row] of rows.entries()) {
      const { created, version } = committed[i]!;
      this.logger.info({ id: row.id, created, version, size: row.size }, 'image stored');
      // Not created: another process committed the same bytes first.
      const outcome = created ? { image: row, created } : await this.existing(row.id);
      if (!outcome) throw new Error(`image ${row.id} was stored by another process and deleted again`);
      outcomes.set(row.id, outcome);
    }
    return outcomes;
  }

  /** Writes every object, then hands every row to the writer in one tick: one group commit. */
  private async persist(rows: NewImageRow[], uploads: NewUpload[]): Promise<AppendOutcome[]> {
    await Promise.all(rows.map((row, i) => this.objects.put(row.key, uploads[i]!.file.bytes, row.contentType)));
    return Promise.all(rows.map((row) => this.writer.append(row)));
  }

  /** The stored image, or null when it is gone (another process deleted it since this one looked). */
  private async existing(id: string): Promise<UploadOutcome | null> {
    await this.writer.settled(id);
    const image = (await this.catalog.get([id], COLUMNS)).get(id);
    return image ? { image, created: false } : null;
  }

  private async existingOrStore(upload: NewUpload): Promise<UploadOutcome> {
    return (await this.existing(upload.probe.id)) ?? (await this.storeNew([upload])).get(upload.probe.id)!;
  }
}

function newRow(file: IncomingFile, probe: ProbedImage, vector: Float32Array): NewImageRow {
  return {
    id: probe.id,
    key: `images/${probe.id}.${probe.ext}`,
    filename: file.filename,
    contentType: probe.contentType,
    size: probe.size,
    width: probe.width,
    height: probe.height,
    createdAt: new Date(),
    vector,
  };
}
