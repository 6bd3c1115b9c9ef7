/**
 * Several replicas on one dataset commit to one chain of versions, each commit a conditional PUT
 * of the next manifest: about 13 requests, 1.3 s on the R2 profile. Each replica committing its own
 * uploads, the dataset makes the same 0.7-0.8 commits a second however many replicas write, so
 * four replicas uploaded 0.93× to 1.21× as fast as one, racing each other for every version
 * (benchmarks/results/replicas-rate-no-relay-s3-r2.md).
 *
 * So the replicas hand their appends to one committer, the holder of the maintenance lease, whose
 * writer puts every replica's rows into one group commit. Each replica still embeds its uploads and
 * writes their images; only the rows travel (about 3 KB each). Nothing depends on it for
 * correctness: Lance's commit protocol still decides, so a replica whose hand-off fails (the holder
 * died, stopped answering or lost the lease) commits the rows itself, and the writer's dedupe and
 * repair keep one row per image if both did.
 *
 * The hand-off is `POST /_replica/appends` on the holder's REPLICA_URL, with REPLICA_TOKEN as a
 * bearer token: rows sent there are stored as they are, so only another replica may send them.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MaintenanceLease } from './maintenance-lease.js';
import type { NewImageRow } from './image-record.js';
import type { AppendOutcome } from './writer.js';
import type { ServiceMetrics } from '../metrics.js';
import { parseImageKey } from '../images/image-key.js';
import { cleanFilename } from '../images/upload-input.js';

export const RELAY_PATH = '/_replica/appends';
/** A group larger than this is committed where it was uploaded (32 files × 16 uploads at the defaults is 512). */
export const MAX_RELAYED_ROWS = 1024;
/** The body of the largest hand-off: a 512-d row is about 3 KB of JSON. */
export const MAX_RELAY_BYTES = 8 * 1024 * 1024;

const RelayedRow = z
  .object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    key: z.string().max(200),
    filename: z.string().max(4096).nullable(),
    contentType: z.string().regex(/^image\/[a-z0-9.+-]{1,100}$/),
    size: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Milliseconds since 1970, up to the last a Date can hold. */
    createdAt: z.number().int().nonnegative().max(8.64e15),
    /**
     * The vector's float32 values in base64, in the machine's byte order (little-endian wherever the
     * service runs): exact, and a third of a JSON array's size.
     */
    vector: z.base64().max(64 * 1024),
  })
  .refine((row) => parseImageKey(row.key)?.id === row.id, { message: 'key is not images/{id}.{ext}', path: ['key'] });
export const RelayedRows = z.object({ rows: z.array(RelayedRow).min(1).max(MAX_RELAYED_ROWS) });
const RelayAnswer = z.object({
  outcomes: z.array(z.object({ created: z.boolean(), version: z.number().int().positive() })),
});

export function encodeRows(rows: readonly NewImageRow[]): z.input<typeof RelayedRows> {
  return {
    rows: rows.map((row) => ({
      ...row,
      createdAt: row.createdAt.getTime(),
      vector: Buffer.from(Float32Array.from(row.vector).buffer).toString('base64'),
    })),
  };
}

/**
 * The rows of a hand-off, their file names cleaned as an upload's are; throws when a vector is not
 * `dimension` finite values (one NaN would spoil the distances of every search and index build).
 */
export function decodeRows(body: z.output<typeof RelayedRows>, dimension: number): NewImageRow[] {
  return body.rows.map((row, i) => {
    const bytes = Buffer.from(row.vector, 'base64');
    if (bytes.byteLength !== dimension * 4) throw new Error(`rows.${i}.vector: expected ${dimension} float32 values`);
    const vector = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (!vector.every(Number.isFinite)) throw new Error(`rows.${i}.vector: not every value is a finite number`);
    return { ...row, filename: cleanFilename(row.filename ?? undefined), createdAt: new Date(row.createdAt), vector };
  });
}

export interface RelayOptions {
  lease: MaintenanceLease;
  token: string;
  /** This replica's own address (REPLICA_URL): a lease record naming it is never handed to. */
  url?: string;
  /**
   * How long a hand-off may take before the rows are committed here instead, and how long this
   * process then commits its own before it hands over again. A third of the lease's term: the
   * holder renews that often, so a new holder is seen by then; and well inside the 30 s a stop
   * allows, so that a stopping replica can still commit a group the holder did not answer.
   */
  timeoutMs: number;
  logger: Logger;
  metrics?: ServiceMetrics;
}

/** The sending side of the hand-off, in every replica's writer: whether to hand a group over, and to whom. */
export class AppendRelay {
  /** After a failed hand-off, this process commits its own rows until then (a performance.now() time). */
  private pausedUntil = -Infinity;

  constructor(private readonly options: RelayOptions) {}

  /**
   * The address to hand appends to: null when this process is to commit them itself, because it
   * holds the lease, nobody does, the holder gave no address, or a hand-off failed less than
   * `timeoutMs` ago. Also null for this replica's own address, which a record of the process it
   * restarted may still name: a hand-off to itself would wait on its own uploads.
   */
  async holder(): Promise<string | null> {
    // The holder's own uploads do not wait for a renewal of the lease: the upkeep renews it.
    if (performance.now() < this.pausedUntil || this.options.lease.holding) return null;
    if (await this.options.lease.hold()) return null;
    const url = this.options.lease.holderUrl();
    return url && url !== this.options.url ? url : null;
  }

  /**
   * Has the replica at `url` commit `rows`, and answers each row's outcome; null when the hand-off
   * failed and the rows are to be committed here. Never rejects.
   */
  async send(url: string, rows: readonly NewImageRow[]): Promise<AppendOutcome[] | null> {
    if (rows.length > MAX_RELAYED_ROWS) return null;
    try {
      const outcomes = await this.post(url, rows);
      this.options.metrics?.appendsRelayed('holder', rows.length);
      return outcomes;
    } catch (error) {
      this.pausedUntil = performance.now() + this.options.timeoutMs;
      this.options.logger.warn(
        { err: error, holder: url, rows: rows.length },
        'the lease holder did not take the appends; committing them here',
      );
      this.options.metrics?.appendsRelayed('here', rows.length);
      return null;
    }
  }

  private async post(url: string, rows: readonly NewImageRow[]): Promise<AppendOutcome[]> {
    const response = await fetch(new URL(RELAY_PATH, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token}` },
      body: JSON.stringify(encodeRows(rows)),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!response.ok) throw new Error(`the lease holder answered ${response.status}: ${await response.text()}`);
    const { outcomes } = RelayAnswer.parse(await response.json());
    if (outcomes.length !== rows.length) throw new Error(`the lease holder answered ${outcomes.length} outcomes`);
    return outcomes;
  }
}
