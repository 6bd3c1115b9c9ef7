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

type NewUpload = { file: IncomingFile; probe: ProbedImage };

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
    // From here to the end of the function nothing awaits: the in-flight map is updated
    // atomically with respect to other requests.
    const fresh = new Map<string, NewUpload>();
    const waits = new Map<string, Promise<UploadOutcome>>();
    probes.forEach((probe, i) => {
      const running = this.inFlight.get(probe.id);
      if (running) waits.set(probe.id, running);
      else if (!this.writer.has(probe.id) && !fresh.has(probe.id)) fresh.set(probe.id, { file: files[i]!, probe });
    });
    const stored = this.storeNew([...fresh.values()]);
    for (const id of fresh.keys())
      this.track(
        id,
        stored.then((outcomes) => outcomes.get(id)!),
      );
    const claimed = new Set<string>();
    return Promise.all(
      probes.map(async ({ id }) => {
        if (fresh.has(id) && !claimed.has(id)) {
          claimed.add(id);
          return (await stored).get(id)!;
        }
        const earlier = waits.get(id) ?? (fresh.has(id) ? stored.then((o) => o.get(id)!) : this.existing(id));
        return { ...(await earlier), created: false };
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

  private track(id: string, outcome: Promise<UploadOutcome>): void {
    this.inFlight.set(id, outcome);
    const forget = () => this.inFlight.delete(id);
    outcome.then(forget, forget);
  }

  private async storeNew(uploads: NewUpload[]): Promise<Map<string, UploadOutcome>> {
    const vectors = await Promise.all(uploads.map(({ file }) => this.batcher.embedImage(file.bytes)));
    const rows = uploads.map(({ file, probe }, i) => newRow(file, probe, vectors[i]!));
    await Promise.all(rows.map((row, i) => this.objects.put(row.key, uploads[i]!.file.bytes, row.contentType)));
    const committed = await Promise.all(rows.map((row) => this.writer.append(row)));
    const outcomes = new Map<string, UploadOutcome>();
    for (const [i, row] of rows.entries()) {
      const { created, version } = committed[i]!;
      this.logger.info({ id: row.id, created, version, size: row.size }, 'image stored');
      outcomes.set(row.id, created ? { image: row, created } : await this.existing(row.id));
    }
    return outcomes;
  }

  private async existing(id: string): Promise<UploadOutcome> {
    await this.writer.settled(id);
    const image = (await this.catalog.get([id], COLUMNS)).get(id);
    if (!image) throw new Error(`image ${id} was deduplicated but is not in the dataset`);
    return { image, created: false };
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
