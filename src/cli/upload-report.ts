import { SingleBar } from 'cli-progress';

/**
 * What became of one file. After an interrupt: 'not-sent' (the run stopped before sending it) or
 * 'no-answer' (sent, but the run ended before the service answered: it may be stored).
 */
export type UploadStatus = 'stored' | 'already-stored' | 'refused' | 'failed' | 'not-sent' | 'no-answer';

/** The statuses that are the service's answer about a file (or a failure to get one); the bar counts these. */
const ANSWERED: ReadonlySet<UploadStatus> = new Set(['stored', 'already-stored', 'refused', 'failed']);

export interface FileResult {
  file: string;
  status: UploadStatus;
  /** The image id (sha256 of the bytes), once the file could be read. */
  id?: string;
  /** Why it was refused or failed, or which file it repeats. */
  reason?: string;
}

/** Plain progress lines (not on a terminal) at most this often. */
const LINE_EVERY_MS = 2000;

/** What the summary says besides the files' results. */
export interface RunNotes {
  /** The signal that interrupted the run. */
  interruptedBy?: string;
  /** The files the folder walk passed over, described. */
  skipped?: string;
}

/**
 * Progress and results of one upload run: a live bar with files/s and an ETA on a terminal (on
 * stderr), a line every few seconds otherwise; with `json`, one JSON line per file on stdout.
 */
export class UploadReport {
  private readonly results: FileResult[] = [];
  /** Files the service answered about: what the bar and the rate count. */
  private answered = 0;
  private readonly started = performance.now();
  private readonly bar: SingleBar | undefined;
  private lastLine = 0;

  constructor(
    private readonly total: number,
    private readonly json: boolean,
    private readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    if (err.isTTY && total > 0) {
      this.bar = new SingleBar({
        stream: err,
        format: 'uploading [{bar}] {value}/{total} files | {rate} files/s | ETA {eta_formatted}',
        etaBuffer: 50,
        hideCursor: true,
      });
      this.bar.start(total, 0, { rate: '0.0' });
      // The bar hides the cursor and turns line wrap off: give them back however the process ends.
      process.once('exit', this.close);
    }
  }

  record(result: FileResult): void {
    this.results.push(result);
    if (this.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!ANSWERED.has(result.status)) return;
    const done = ++this.answered;
    const rate = done / this.seconds();
    if (this.bar) return this.bar.update(done, { rate: rate.toFixed(1) });
    if (performance.now() - this.lastLine < LINE_EVERY_MS && done < this.total) return;
    this.lastLine = performance.now();
    const eta = rate > 0 ? ` | ETA ${Math.ceil((this.total - done) / rate)} s` : '';
    this.err.write(`uploading: ${done}/${this.total} files | ${rate.toFixed(1)} files/s${eta}\n`);
  }

  /** A retry or another note, without breaking the bar. */
  note(message: string): void {
    if (this.bar) this.err.write('\r\x1b[2K');
    this.err.write(`${message}\n`);
    this.bar?.render();
  }

  /**
   * Draws the bar's last count and stops it, which shows the cursor and turns line wrap back on.
   * Safe to call more than once.
   */
  readonly close = (): void => {
    this.bar?.stop();
    process.off('exit', this.close);
  };

  /** Stops the bar; returns the summary and whether every file ended stored or already stored. */
  finish(bytesSent: number, notes: RunNotes = {}): { summary: string; ok: boolean } {
    this.close();
    const seconds = this.seconds();
    const of = (status: UploadStatus) => this.results.filter((r) => r.status === status);
    const [stored, already, refused, failed] = [of('stored'), of('already-stored'), of('refused'), of('failed')];
    const [notSent, noAnswer] = [of('not-sent'), of('no-answer')];
    const done = notes.interruptedBy
      ? `interrupted by ${notes.interruptedBy}: ${this.answered} of ${this.total} files answered`
      : `${this.answered} files`;
    const lines = [
      `${done} in ${seconds.toFixed(1)} s: ${(this.answered / seconds).toFixed(1)} files/s; ` +
        `${megabytes(bytesSent)} of files sent (${megabytes(bytesSent / seconds)}/s)`,
      `  stored          ${stored.length}`,
      `  already stored  ${already.length}`,
      `  refused         ${refused.length}`,
      ...refused.map((r) => `    ${r.file}: ${r.reason}`),
    ];
    if (failed.length > 0) lines.push(`  failed          ${failed.length}`, ...byReason(failed));
    if (noAnswer.length > 0) lines.push(`  no answer       ${noAnswer.length}`, ...byReason(noAnswer));
    if (notSent.length > 0) lines.push(`  not sent        ${notSent.length}`);
    if (notes.skipped) lines.push(`  ${notes.skipped}`);
    if (notSent.length + noAnswer.length > 0) lines.push('Run the same command again to send the rest.');
    else if (already.length === this.results.length) lines.push('Nothing new: every file was already stored.');
    const ok = [refused, failed, notSent, noAnswer].every((files) => files.length === 0);
    return { summary: lines.join('\n'), ok };
  }

  private seconds(): number {
    return Math.max((performance.now() - this.started) / 1000, 1e-3);
  }
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e5 && bytes > 0 ? 3 : 1)} MB`;

/** Failures grouped by their reason: when the service cannot be reached, that is every file for one reason. */
function byReason(results: FileResult[]): string[] {
  const groups = new Map<string, string[]>();
  for (const { file, reason = 'unknown' } of results) {
    const files = groups.get(reason) ?? [];
    files.push(file);
    groups.set(reason, files);
  }
  return [...groups].map(([reason, [first, ...more]]) =>
    more.length === 0 ? `    ${first}: ${reason}` : `    ${first} and ${more.length} more: ${reason}`,
  );
}
