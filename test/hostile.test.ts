import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { hostileCorpus, type Answer, type Target } from './support/hostile-corpus.js';
import { tempDir, testModelDir } from './support/harness.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

/** Library internals that must never reach a client. */
const LEAKS = /stacktrace|\.rs\b|\/src\/|node_modules|vips|libpng|libjpeg|\bat [\w.<>]+ \(/i;

const cases = await hostileCorpus({
  maxUploadBytes: 25 * 1024 * 1024,
  maxFiles: 32,
  bigImages: { atOnce: 4, inOneRequest: 4 },
  costlyImages: 'headers',
});

/**
 * Every finding of the hostile-input review, against a real service process on its default
 * limits: each answer is the right 4xx (or a success), nothing is written by a refused request,
 * no answer carries internals, and the same process is still up and healthy after each.
 */
describe('hostile input corpus', () => {
  let service: ServiceProcess;
  let dataDir: string;
  let target: Target;
  before(async () => {
    dataDir = await tempDir();
    service = await startServiceProcess({ DATA_URI: dataDir, EMBEDDING_MODEL: await testModelDir() });
    target = {
      url: service.url,
      version: async () =>
        (await service.graphql<{ dataset: { version: number } }>('{ dataset { version } }')).data!.dataset.version,
    };
  });
  after(async () => {
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /**
   * The version once the upkeep a previous case set off is done: the service folds small
   * fragments after commits, in the background, and that is not this case's write.
   */
  async function settledVersion(): Promise<number> {
    for (let last = await target.version(); ;) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const now = await target.version();
      if (now === last) return now;
      last = now;
    }
  }

  for (const c of cases) {
    test(`finding ${c.finding}: ${c.name}`, async () => {
      const before = c.writesNothing ? await settledVersion() : await target.version();
      const answers: Answer[] = await c.send(target);
      c.check(answers);
      for (const answer of answers) assert.doesNotMatch(JSON.stringify(answer.body), LEAKS);
      assert.equal((await fetch(`${service.url}/healthz`)).status, 200, 'the process is up');
      assert.doesNotThrow(() => process.kill(service.pid, 0), 'the same process');
      if (c.writesNothing) assert.equal(await target.version(), before, 'nothing was committed');
    });
  }
});
