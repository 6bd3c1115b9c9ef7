import type { Services } from '../../src/services/index.js';
import { summarise, timed } from '../lib/stats.js';
import type { OperationId, OperationResult } from './operations.js';
import { instrumentUploads, type UploadPhases } from './phases.js';
import type { PhotoSupply } from './photos.js';
import type { TrafficMeter } from './traffic.js';

type PartName = keyof UploadPhases;
const PARTS: PartName[] = ['embed', 'put', 'catchUp', 'commit'];

/** Appends through the real upload path, one `uploadAll` per iteration, timed whole and in parts. */
export class AppendProbe {
  private readonly phases: UploadPhases;

  constructor(
    private readonly services: Services,
    private readonly photos: PhotoSupply,
    private readonly meter: TrafficMeter,
  ) {
    this.phases = instrumentUploads(services);
  }

  /** One untimed upload: the first commit after the synthetic fill also reloads the writer's id set. */
  async warmUp(): Promise<void> {
    await this.upload(1);
  }

  /** `iterations` uploads of `size` new photos each; results for the whole and for each part. */
  async measure(id: 'append-1' | 'append-batch', size: number, iterations: number): Promise<OperationResult[]> {
    const totals: number[] = [];
    const parts = new Map<PartName, number[]>(PARTS.map((part) => [part, []]));
    const versionBefore = await this.services.catalog.version();
    const { traffic } = await this.meter.measure(iterations, async () => {
      for (let i = 0; i < iterations; i++) {
        totals.push(await this.upload(size));
        for (const part of PARTS) parts.get(part)!.push(this.phases[part].take());
      }
    });
    const versionsPerIteration = ((await this.services.catalog.version()) - versionBefore) / iterations;
    const whole: OperationResult = { id, latency: summarise(totals), samples: totals, traffic, versionsPerIteration };
    const split = PARTS.map((part) => {
      const samples = parts.get(part)!;
      return { id: `${id}-${part.toLowerCase()}` as OperationId, latency: summarise(samples), samples, traffic: null };
    });
    return [whole, ...split];
  }

  /** Milliseconds of one `uploadAll` of `size` new photos. */
  private async upload(size: number): Promise<number> {
    const files = this.photos.take(size);
    for (const part of PARTS) this.phases[part].take();
    const { value: outcomes, ms } = await timed(() => this.services.uploads.uploadAll(files));
    const notCreated = outcomes.filter((outcome) => !outcome.created).length;
    if (notCreated > 0) throw new Error(`${notCreated} of ${size} uploads were not new images`);
    // A commit starts index upkeep in the background (a row count at least); letting it finish
    // keeps it out of the next sample, as for a client that does not upload back to back.
    await this.services.dataset.idle();
    return ms;
  }
}
