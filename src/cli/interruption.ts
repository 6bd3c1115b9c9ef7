import { constants } from 'node:os';

/**
 * One Ctrl-C can arrive twice at once when the terminal signals the whole process group and a
 * parent forwards it too (as npm does to `npm start`; the CLI's own launchers, `npm run upload`
 * through tsx, npx and the bin, were seen to deliver it once). A SIGINT this soon after the first
 * is that same one.
 */
export const SAME_CTRL_C_MS = 1000;

/** How a run that was told to stop ended: it finished its work in flight, ran out of time, or was told to quit. */
export type StopOutcome = 'finished' | 'late' | 'quit';

/**
 * SIGINT (Ctrl-C) and SIGTERM while a command runs, instead of Node's default of dying on the spot
 * (which leaves a progress bar's hidden cursor behind and tells nothing of what was done). The
 * first signal aborts {@link stop}: the command sends nothing more and finishes what it has in
 * flight. A second Ctrl-C aborts {@link quit}: stop waiting. A repeated SIGTERM changes nothing,
 * since supervisors repeat theirs.
 */
export class Interruption {
  private readonly stopping = new AbortController();
  private readonly quitting = new AbortController();
  private first: { signal: NodeJS.Signals; at: number } | undefined;

  /** Aborted at the first signal. */
  readonly stop = this.stopping.signal;
  /** Aborted at a second Ctrl-C. */
  readonly quit = this.quitting.signal;

  /** `signals`: where SIGINT and SIGTERM are heard; the process, but for tests. */
  constructor(private readonly signals: NodeJS.EventEmitter = process) {
    signals.on('SIGINT', this.heard);
    signals.on('SIGTERM', this.heard);
  }

  /** The first signal's name, once one came. */
  get signal(): NodeJS.Signals | undefined {
    return this.first?.signal;
  }

  /** What a process ended by the first signal exits with: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
  get exitCode(): number | undefined {
    return this.first && 128 + constants.signals[this.first.signal];
  }

  /**
   * Waits for `work`. Once stopped, it has `graceMs` more to finish what it has in flight, or less
   * if a second Ctrl-C comes; if it does not finish, it is left running and not awaited.
   */
  async within(work: Promise<void>, graceMs: number): Promise<StopOutcome> {
    const finished = work.then(() => 'finished' as const);
    if ((await Promise.race([finished, aborted(this.stop)])) === 'finished') return 'finished';
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, graceMs, 'late')));
    const outcome = await Promise.race([finished, late, aborted(this.quit).then(() => 'quit' as const)]);
    clearTimeout(timer);
    // Left behind: what it does from here on is no longer reported.
    if (outcome !== 'finished') finished.catch(() => {});
    return outcome;
  }

  /** Gives the signals back to Node's defaults. */
  close(): void {
    this.signals.off('SIGINT', this.heard);
    this.signals.off('SIGTERM', this.heard);
  }

  private readonly heard = (signal: NodeJS.Signals): void => {
    if (!this.first) {
      this.first = { signal, at: Date.now() };
      this.stopping.abort();
    } else if (signal === 'SIGINT' && Date.now() - this.first.at > SAME_CTRL_C_MS) {
      this.quitting.abort();
    }
  };
}

const aborted = (signal: AbortSignal) =>
  new Promise<'aborted'>((resolve) =>
    signal.aborted ? resolve('aborted') : signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
  );
