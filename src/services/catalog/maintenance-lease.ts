/**
 * One maintainer at a time among the replicas of a dataset: index builds, compactions and folds
 * run on the process that holds this lease, and every other replica skips them (their commits
 * reach the holder through its refresh). Without it, four replicas run four index builds of the
 * same table at once, each one wasted work and a commit conflict for the others.
 *
 * The lease is a numbered object under `_maintenance/lease/`, beside the dataset, and every write
 * of it (a take-over, a renewal, a release) creates the next number with a conditional write: S3's
 * `If-None-Match: *`, on local disk a hard link. Lance commits its manifests the same way, so any
 * store that holds a dataset can hold the lease, and of two replicas that race to write the same
 * number one wins. Nothing needs `If-Match` or a lock.
 *
 * The holder renews every third of `ttlMs`. Another replica takes over once the newest number has
 * stayed the same for `ttlMs` by its own clock (no two machines' clocks are compared), or at once
 * when the holder released it on stopping. A holder that could not renew for two thirds of
 * `ttlMs` (the store failed, the process stalled) stops calling itself the holder before anyone
 * may take over.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ObjectStore } from '../storage/object-store.js';

export const LEASE_PREFIX = '_maintenance/lease/';

/** What each numbered lease object holds: who wrote it, for the logs and for people. */
interface LeaseRecord {
  holder: string;
  host: string;
  pid: number;
  writtenAt: string;
  ttlMs: number;
  released: boolean;
  /** Where the other replicas hand their appends to this holder (REPLICA_URL; append-relay.ts). */
  url?: string;
}

export interface LeaseOptions {
  ttlMs: number;
  /** This replica's address for the others (REPLICA_URL), written into its lease records. */
  url?: string;
  /** Milliseconds on a clock that only moves forward; the tests move one by hand. */
  now?: () => number;
  logger?: Logger;
}

export class MaintenanceLease {
  /** This process, as the lease records name it. */
  readonly holder = randomUUID();
  private readonly now: () => number;
  /** The number this process wrote last, while it holds the lease, and when. */
  private held: { seq: number; wroteAt: number } | null = null;
  /** The newest number someone else wrote, when this process first saw it, and whether it was a release. */
  private seen: { seq: number; since: number; released: boolean; holder: string; url?: string } | null = null;
  private lookedAt = -Infinity;
  private checking: Promise<boolean> | null = null;

  constructor(
    private readonly objects: ObjectStore,
    private readonly options: LeaseOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  private get renewEvery(): number {
    return this.options.ttlMs / 3;
  }

  /**
   * True while this process holds the lease: renews it when a renewal is due, and takes it when
   * it is free, released or expired. Looks at the store at most once a renewal period; never rejects.
   */
  hold(): Promise<boolean> {
    this.checking ??= this.check()
      .catch((error: unknown) => {
        this.options.logger?.warn({ err: error }, 'the maintenance lease could not be read or written');
        return this.stillHeld();
      })
      .finally(() => (this.checking = null));
    return this.checking;
  }

  /**
   * True while this process holds the lease as far as it knows, without a look at the store (the
   * upkeep's `hold()` after each commit renews it).
   */
  get holding(): boolean {
    return this.held !== null;
  }

  /**
   * The address of the replica holding the lease, as this process last looked (at most a renewal
   * period ago): null while this process holds it, when it is free or expired, or when the holder
   * gave no address.
   */
  holderUrl(): string | null {
    if (this.held || !this.seen || this.free(this.now())) return null;
    return this.seen.url ?? null;
  }

  /** Gives the lease up, so that another replica takes it at once instead of after `ttlMs`. */
  async release(): Promise<void> {
    await this.checking;
    const held = this.held;
    if (!held) return;
    this.held = null;
    if (await this.write(held.seq + 1, true).catch(() => false)) await this.forget(held.seq);
  }

  private async check(): Promise<boolean> {
    const now = this.now();
    if (this.held) {
      if (now - this.held.wroteAt < this.renewEvery) return true;
      if (await this.write(this.held.seq + 1, false)) return this.wrote(this.held.seq + 1, now);
      // Someone wrote the next number: this process was too late to renew, and they took over.
      this.options.logger?.warn({ seq: this.held.seq + 1 }, 'lost the maintenance lease to another replica');
      this.held = null;
    } else if (this.seen && now - this.lookedAt < this.renewEvery && !this.free(now)) {
      return false;
    }
    return this.look(now);
  }

  /** Reads the newest lease object, and takes the lease when it is free. */
  private async look(now: number): Promise<boolean> {
    this.lookedAt = now;
    const newest = await this.newest();
    if (newest > 0 && this.seen?.seq !== newest) {
      const record = await this.read(newest);
      // Gone between the listing and the read: a newer one was written meanwhile.
      if (!record) return false;
      this.seen = { seq: newest, since: now, released: record.released, holder: record.holder, url: record.url };
    }
    if (newest > 0 && !this.free(now)) return false;
    if (!(await this.write(newest + 1, false))) return false;
    const previous = this.seen;
    this.options.logger?.info(
      { seq: newest + 1, previous: previous && { holder: previous.holder, released: previous.released } },
      'took the maintenance lease',
    );
    return this.wrote(newest + 1, now);
  }

  private free(now: number): boolean {
    return !!this.seen && (this.seen.released || now - this.seen.since >= this.options.ttlMs);
  }

  private async wrote(seq: number, now: number): Promise<boolean> {
    this.held = { seq, wroteAt: now };
    this.seen = null;
    await this.forget(seq - 1);
    return true;
  }

  /** After a failed renewal: held until two thirds of `ttlMs` after the last write, before anyone may take over. */
  private stillHeld(): boolean {
    if (this.held && this.now() - this.held.wroteAt < (2 * this.options.ttlMs) / 3) return true;
    this.held = null;
    return false;
  }

  private async newest(): Promise<number> {
    let newest = 0;
    for await (const object of this.objects.list(LEASE_PREFIX)) {
      const seq = Number(/(\d+)\.json$/.exec(object.key)?.[1] ?? 0);
      if (seq > newest) newest = seq;
    }
    return newest;
  }

  private async read(seq: number): Promise<LeaseRecord | null> {
    const object = await this.objects.get(key(seq));
    if (!object) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as LeaseRecord;
    } catch {
      // Not ours to judge: an unreadable record still counts as held, until it expires.
      return { holder: 'unknown', host: '', pid: 0, writtenAt: '', ttlMs: this.options.ttlMs, released: false };
    }
  }

  private write(seq: number, released: boolean): Promise<boolean> {
    const record: LeaseRecord = {
      holder: this.holder,
      host: hostname(),
      pid: process.pid,
      writtenAt: new Date().toISOString(),
      ttlMs: this.options.ttlMs,
      released,
      url: this.options.url,
    };
    return this.objects.putIfAbsent(key(seq), Buffer.from(JSON.stringify(record)), 'application/json');
  }

  /** Removes an older lease object; the newest one alone decides, so a failure only leaves litter. */
  private async forget(seq: number): Promise<void> {
    if (seq > 0) await this.objects.delete(key(seq)).catch(() => {});
  }
}

/** Zero-padded, so that the objects list in order. */
function key(seq: number): string {
  return `${LEASE_PREFIX}${String(seq).padStart(20, '0')}.json`;
}
