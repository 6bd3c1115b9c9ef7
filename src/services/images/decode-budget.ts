/** A decode waiting for its share of the budget. */
interface Waiter {
  cost: number;
  start: (release: () => void) => void;
}

/**
 * The memory that image decodes may hold at once, process-wide, for uploads and thumbnails
 * alike: each decode asks for its estimated cost (decode-cost.ts) and starts when it fits.
 *
 * A count of slots alone let two 10000×10000 AVIFs (1.8 GB each) run together, and made a 1 KB
 * upload wait seconds behind them. Here decodes start in arrival order while their costs fit in
 * `bytes` and fewer than `concurrency` run, so a costly decode at the head is never overtaken and
 * cannot starve; and one more lane, beside them, runs small decodes (at most a sixteenth of
 * `bytes`) one at a time, so that small ones never wait for costly ones to end. At most `bytes`
 * plus one small decode are held at once.
 */
export class DecodeBudget {
  /** The most a decode may cost to run in the small lane. */
  readonly smallCost: number;
  private held = 0;
  private running = 0;
  private laneBusy = false;
  private readonly waiting: Waiter[] = [];

  constructor(
    /** DECODE_MEMORY_BYTES: a decode estimated above it is refused before it gets here. */
    readonly bytes: number,
    /** DECODE_CONCURRENCY: decodes at once, besides the small lane. */
    readonly concurrency: number,
  ) {
    this.smallCost = Math.floor(bytes / 16);
  }

  /** Runs `decode` once `cost` bytes are free for it, and frees them when it settles. */
  async run<T>(cost: number, decode: () => Promise<T>): Promise<T> {
    const release = await this.acquire(cost);
    try {
      return await decode();
    } finally {
      release();
    }
  }

  /**
   * Waits for `cost` bytes (at most `bytes`: a dearer decode would never start); resolves with
   * the function that frees them.
   */
  acquire(cost: number): Promise<() => void> {
    if (!(cost >= 0 && cost <= this.bytes)) {
      return Promise.reject(new RangeError(`a decode of ${cost} bytes cannot fit in a budget of ${this.bytes}`));
    }
    return new Promise((start) => {
      this.waiting.push({ cost, start });
      this.dispatch();
    });
  }

  /** Decodes running now, in the budget and in the small lane. */
  get active(): number {
    return this.running + (this.laneBusy ? 1 : 0);
  }

  private dispatch(): void {
    for (let head = this.waiting[0]; head; head = this.waiting[0]) {
      if (this.running >= this.concurrency || this.held + head.cost > this.bytes) break;
      this.waiting.shift();
      this.running += 1;
      this.held += head.cost;
      head.start(
        once(() => {
          this.running -= 1;
          this.held -= head.cost;
          this.dispatch();
        }),
      );
    }
    if (this.laneBusy) return;
    const small = this.waiting.findIndex((w) => w.cost <= this.smallCost);
    if (small < 0) return;
    const [waiter] = this.waiting.splice(small, 1);
    this.laneBusy = true;
    waiter!.start(
      once(() => {
        this.laneBusy = false;
        this.dispatch();
      }),
    );
  }
}

function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}
