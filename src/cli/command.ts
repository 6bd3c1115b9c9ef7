import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  /** Printed for --help (stdout, exit 0) and after a usage error (stderr, exit 2). */
  usage: string;
  /** Runs the command; resolves to the process's exit code. */
  run(args: string[]): Promise<number>;
}

/** A command line a command cannot run: shown with the command's usage, exit code 2, no stack. */
export class UsageError extends Error {}

/** node:util's parseArgs, strict, with its refusals (unknown option, missing value) as {@link UsageError}s. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (error) {
    if (String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  }
}

/** An option's value as a whole number of at least `min`. */
export function wholeNumber(value: string, option: string, min = 1): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) throw new UsageError(`${option} must be a whole number ≥ ${min}`);
  return number;
}
