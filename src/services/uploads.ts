import type { Logger } from 'pino';
import type { ImageCatalog } from './catalog.js';
import type { EmbeddingBatcher } from './embedding-batcher.js';
import { COLUMNS, type NewImageRow, type ImageRecord } from './image-record.js';
import { InvalidImageError, probeImage, type ProbeLimits, type ProbedImage } from './image-probe.js';
import type { ObjectStore } from './object-store.js';
import type { CatalogWriter } from './writer.js';

/** An uploaded file, read into memory (bounded by MAX_UPLOAD_BYTES). */
export interface IncomingFile {
  bytes: Uint8Array;
  filename: string | null;
}

export interface UploadOutcome {
  image: ImageRecord;
  created: boolean;
}

/**
 * Stores images: validate and hash, embed, write the bytes under their content address, then
 * commit the row through the writer. The object is always written before the row, so a
 * failure in between can leave an unreferenced object (harmless, reclaimed by maintenance) but
 * never a row without its image.
 */
export class UploadService {
  /** Uploads of the same bytes that are in progress share one outcome. */
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
   * Stores every file or none: all are validated before anything is written, and their rows
   * join one group commit.
   */
  async uploadAll(files: readonly IncomingFile[]): Promise<UploadOutcome[]> {
    const probed = await Promise.all(
      files.map((file, index) =>
        probeImage(file.bytes, this.limits).catch((error: unknown) => {
          if (error instanceof InvalidImageError && files.length > 1) {
            throw new InvalidImageError(`file ${index + 1} (${file.filename ?? 'unnamed'}): ${error.message}`);
          }
          throw error;
        }),
      ),
    );
    return Promise.all(probed.map((probe, i) => this.store(files[i]!, probe)));
  }

  private store(file: IncomingFile, probe: ProbedImage): Promise<UploadOutcome> {
    const running = this.inFlight.get(probe.id);
    if (running) return running.then((outcome) => ({ ...outcome, created: false }));
    const outcome = this.writer.has(probe.id) ? this.existing(probe.id) : this.storeNew(file, probe);
    this.inFlight.set(probe.id, outcome);
    const forget = () => this.inFlight.delete(probe.id);
    outcome.then(forget, forget);
    return outcome;
  }

  private async storeNew(file: IncomingFile, probe: ProbedImage): Promise<UploadOutcome> {
    const vector = await this.batcher.embedImage(file.bytes);
    const row: NewImageRow = {
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
    await this.objects.put(row.key, file.bytes, row.contentType);
    const { created, version } = await this.writer.append(row);
    this.logger.info({ id: row.id, created, version, size: row.size }, 'image stored');
    return created ? { image: row, created } : this.existing(row.id);
  }

  private async existing(id: string): Promise<UploadOutcome> {
    await this.writer.settled(id);
    const image = (await this.catalog.get([id], COLUMNS)).get(id);
    if (!image) throw new Error(`image ${id} was deduplicated but is not in the dataset`);
    return { image, created: false };
  }
}
