import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { EmbeddingBatcher } from '../src/services/embedding-batcher.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, COLOUR_NAMES, distinctImages, solid } from './support/images.js';
import { execute, graphqlServer, openServices, testModel } from './support/harness.js';

const TEXTS = COLOUR_NAMES.flatMap((name) => [`a ${name} car`, `something ${name}`]);

/** Concurrent requests share model calls through the long-lived DataLoader batcher. */
describe('embedding batching', () => {
  test('N concurrent texts make fewer than N model calls and the same vectors as one at a time', async () => {
    const batcher = new EmbeddingBatcher(await testModel());
    const alone: Float32Array[] = [];
    for (const text of TEXTS) alone.push(await batcher.embedText(text));
    assert.equal(batcher.modelCalls, TEXTS.length);
    const together = await Promise.all(TEXTS.map((text) => batcher.embedText(text)));
    const calls = batcher.modelCalls - TEXTS.length;
    assert.ok(calls < TEXTS.length, `${calls} calls for ${TEXTS.length} texts`);
    together.forEach((vector, i) => assert.deepEqual(Array.from(vector), Array.from(alone[i]!)));
  });

  test('images are batched separately from texts', async () => {
    const batcher = new EmbeddingBatcher(await testModel());
    const images = await Promise.all(COLOUR_NAMES.map((name) => solid(COLOURS[name])));
    const [vectors] = await Promise.all([
      Promise.all(images.map((bytes) => batcher.embedImage(bytes))),
      batcher.embedText('red'),
    ]);
    assert.equal(batcher.modelCalls, 2, 'one call for the images, one for the text');
    const single = await batcher.embedImage(images[0]!);
    assert.ok(Math.abs(Array.from(single).reduce((s, x, i) => s + x * vectors[0]![i]!, 0) - 1) < 1e-5);
  });

  describe('through GraphQL', () => {
    let server: ApolloServer<GraphQLContext>;
    let services: Services;
    before(async () => {
      server = await graphqlServer();
      services = await openServices();
      await services.uploads.uploadAll((await distinctImages(4)).map((bytes) => ({ bytes, filename: null })));
    });
    after(async () => {
      await server.stop();
      await services.close();
    });

    test('concurrent searches share model calls', async () => {
      const before = services.batcher.modelCalls;
      const results = await Promise.all(
        TEXTS.map((text) =>
          execute(server, services, 'query ($t: String!) { search(text: $t, limit: 2) { hits { score } } }', {
            t: text,
          }),
        ),
      );
      assert.ok(results.every((r) => r.errors === undefined));
      const calls = services.batcher.modelCalls - before;
      assert.ok(calls >= 1 && calls < TEXTS.length, `${calls} model calls for ${TEXTS.length} searches`);
    });

    test('the text embedding cache spares the model on repeated texts', async () => {
      const before = services.batcher.modelCalls;
      await execute(server, services, '{ search(text: "a red car", limit: 3) { version } }');
      assert.equal(services.batcher.modelCalls, before, 'cached by the previous test');
    });
  });
});
