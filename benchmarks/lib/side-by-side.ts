import { concurrentLatencies, summarise, timed, type LatencySummary } from './stats.js';

/** One way of answering a query: the ids it found, best first. */
export type Contender<T> = (item: T) => Promise<string[]>;

/**
 * Every contender answers every item, one at a time, taking turns item by item: on a shared
 * machine a change of load then reaches all of them alike, where one series after the other
 * would hand it to whichever ran at the time.
 */
export async function interleavedLatencies<T, K extends string>(
  items: readonly T[],
  contenders: Record<K, Contender<T>>,
): Promise<Record<K, { latency: LatencySummary; answers: string[][] }>> {
  const names = Object.keys(contenders) as K[];
  const samples = new Map(names.map((name) => [name, [] as number[]]));
  const answers = new Map(names.map((name) => [name, [] as string[][]]));
  for (const item of items) {
    for (const name of names) {
      const { value, ms } = await timed(() => contenders[name](item));
      samples.get(name)!.push(ms);
      answers.get(name)!.push(value);
    }
  }
  return Object.fromEntries(
    names.map((name) => [name, { latency: summarise(samples.get(name)!), answers: answers.get(name)! }]),
  ) as Record<K, { latency: LatencySummary; answers: string[][] }>;
}

export interface Throughput {
  /** Queries per second of the median round. */
  qps: number;
  /** Every round's queries per second, in the order run. */
  rounds: number[];
  /** Latency under that load, over every round. */
  latency: LatencySummary;
}

/**
 * Closed-loop throughput with `clients` concurrent clients: each contender in turn over one
 * batch of items, a new batch each round (so no answer cache serves a round from the one
 * before), and each contender sees the machine in several states; the median round counts.
 */
export async function alternatingThroughput<T, K extends string>(
  batches: ReadonlyArray<readonly T[]>,
  clients: number,
  contenders: Record<K, Contender<T>>,
): Promise<Record<K, Throughput>> {
  const names = Object.keys(contenders) as K[];
  const qps = new Map(names.map((name) => [name, [] as number[]]));
  const samples = new Map(names.map((name) => [name, [] as number[]]));
  for (const items of batches) {
    for (const name of names) {
      const run = await concurrentLatencies(items, clients, contenders[name]);
      qps.get(name)!.push(items.length / (run.wallMs / 1000));
      samples.get(name)!.push(...run.samples);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = qps.get(name)!;
      const median = [...all].sort((a, b) => a - b)[Math.floor(all.length / 2)]!;
      return [name, { qps: median, rounds: all, latency: summarise(samples.get(name)!) }];
    }),
  ) as Record<K, Throughput>;
}
