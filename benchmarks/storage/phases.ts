import { performance } from 'node:perf_hooks';
import type { Services } from '../../src/services/index.js';
import { tableWrites } from '../../src/services/catalog/test-access.js';

/**
 * Records when calls to one function start and end, so the part of an operation spent in it can
 * be read off afterwards. Concurrent calls (the 32 object PUTs of a batch) count once, as the
 * wall time from the first start to the last end.
 */
export class CallTimer {
  private first = Infinity;
  private last = -Infinity;

  wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      this.first = Math.min(this.first, performance.now());
      try {
        return await fn(...args);
      } finally {
        this.last = Math.max(this.last, performance.now());
      }
    };
  }

  /** Milliseconds covered since the previous `take()` (NaN when nothing was called), then resets. */
  take(): number {
    const span = this.last >= this.first ? this.last - this.first : NaN;
    this.first = Infinity;
    this.last = -Infinity;
    return span;
  }
}

/** The parts of an upload that touch storage or the model, timed inside the real services. */
export interface UploadPhases {
  embed: CallTimer;
  put: CallTimer;
  /** the writer moving to the latest version before it commits (other processes may have written) */
  catchUp: CallTimer;
  commit: CallTimer;
}

/**
 * Wraps the instance methods the upload path calls (model, object store, writer catch-up, Lance append) with
 * timers. The service has no hooks for this, and the wrappers only read the clock, so the
 * code path stays the service's own.
 */
export function instrumentUploads(services: Services): UploadPhases {
  const phases: UploadPhases = {
    embed: new CallTimer(),
    put: new CallTimer(),
    catchUp: new CallTimer(),
    commit: new CallTimer(),
  };
  const { batcher, objects } = services;
  wrapCatchUp(services.writer, phases.catchUp);
  batcher.embedImage = phases.embed.wrap(batcher.embedImage.bind(batcher));
  objects.put = phases.put.wrap(objects.put.bind(objects));
  const writes = tableWrites(services.writer);
  writes.append = phases.commit.wrap(writes.append.bind(writes));
  return phases;
}

/**
 * The writer's catch-up before each commit (move to the latest version, reload the id set if
 * it moved) is private, so it is looked up at run time and a rename fails here, loudly, instead
 * of leaving its cost inside an unexplained remainder.
 */
function wrapCatchUp(writer: Services['writer'], timer: CallTimer): void {
  const target = writer as unknown as { catchUp?: () => Promise<void> };
  if (typeof target.catchUp !== 'function') {
    throw new Error('CatalogWriter.catchUp() not found: update benchmarks/storage/phases.ts');
  }
  target.catchUp = timer.wrap(target.catchUp.bind(writer));
}
