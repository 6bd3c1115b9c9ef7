import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import type { SuiteResult } from './report.js';

/** What every suite gets from the runner. */
export interface SuiteContext {
  /** Loaded once per run and shared by every service instance the suites open. */
  model: ClipModel;
  /** Smaller sizes and fewer repetitions, for checking that the suites work (not for figures). */
  quick: boolean;
  /** `--rows N`: dataset size for the suites that take one (scale). */
  rows?: number;
  /** `--pg-url URL`: a PostgreSQL with pgvector, for the peer suite. */
  pgUrl?: string;
  /** `--data DIR`: keep the suite's dataset under DIR/<rows> and reuse it on later runs (scale). */
  dataDir?: string;
  /** The base name of this run's result files, for the files a suite writes itself (charts). */
  resultName: string;
  /** Progress for the person watching; goes to stderr so stdout stays the markdown. */
  log(message: string): void;
}

export interface Suite {
  name: string;
  /** Why the suite cannot run with this context (it is then skipped), or undefined when it can. */
  skip?(ctx: SuiteContext): string | undefined;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
