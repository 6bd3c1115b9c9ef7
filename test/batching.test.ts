import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { ClipModel } from '../src/services/embedding/clip-model.js';
import { EmbeddingBatcher } from '../src/services/embedding/embedding-batcher.js';
import { probeImage } from '../src/services/images/image-probe.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, COLOUR_NAMES, distinctImages, solid } from './support/images.js';
import { execute, graphqlServer, openServices, testModel } from './support/harness.js';

const TEXTS = COLOUR_NAMES.flatMap((name) => [`a ${name} car`, `something ${name}`]);
const NO_LIMITS = { maxPixels: Number.MAX_SAFE_INTEGER, maxDecodeBytes: Number.MAX_SAFE_INTEGER };

async function colourPixels(model: ClipModel): Promise<Float32Array[]> {
  const images = await Promise.all(COLOUR_NAMES.map((name) => solid(COLOURS[name])));
  return Promise.all(images.map(async (bytes) => (await probeImage(bytes, NO_LIMITS, model.imageInput)).pixels));
}

/**
 * Concurrent requests share model calls through the long-lived DataLoader batcher. Calls are
 * counted by spies on the real test model's methods (`t.mock.method` calls through to the
 * original and is undone when the test ends).
 */
describe('embedding batching', () => {
  test('N concurrent texts make fewer than N model calls and the same vectors as one at a time', async (t) => {
    const model = await testModel();
    const batcher = new EmbeddingBatcher(model);
    const embedTexts = t.mock.method(model, 'embedTexts');
    const alone: Float32Array[] = [];
    for (const text of TEXTS) alone.push(await batcher.embedText(text));
    assert.equal(embedTexts.mock.callCount(), TEXTS.length);
    const together = await Promise.all(TEXTS.map((text) => batcher.embedText(text)));
    const calls = embedTexts.mock.callCount() - TEXTS.length;
    assert.ok(calls < TEXTS.length, `${calls} calls for ${TEXTS.length} texts`);
    together.forEach((vector, i) => assert.deepEqual(Array.from(vector), Array.from(alone[i]!)));
  });

  test('images are batched separately from texts', async (t) => {
    const model = await testModel();
    const batcher = new EmbeddingBatcher(model);
    const pixels = await colourPixels(model);
    const embedImages = t.mock.method(model, 'embedImages');
    const embedTexts = t.mock.method(model, 'embedTexts');
    const [vectors] = await Promise.all([
      Promise.all(pixels.map((image) => batcher.embedImage(image))),
      batcher.embedText('red'),
    ]);
    assert.equal(embedImages.mock.callCount(), 1, 'one call for the images');
    assert.equal(embedTexts.mock.callCount(), 1, 'one call for the text');
    assert.equal(embedImages.mock.calls[0]!.arguments[0].length, pixels.length);
    const single = await batcher.embedImage(pixels[0]!);
    assert.ok(Math.abs(Array.from(single).reduce((s, x, i) => s + x * vectors[0]![i]!, 0) - 1) < 1e-5);
  });

  test('a model pass that fails fails only the input that breaks it', async (t) => {
    const model = await testModel();
    const batcher = new EmbeddingBatcher(model);
    const pixels = await colourPixels(model);
    const alone = await Promise.all(pixels.map((image) => model.embedImages([image]).then(([v]) => v!)));
    const poison = pixels[3]!;
    const real = model.embedImages;
    const embedImages = t.mock.method(model, 'embedImages', (batch: Float32Array[]) =>
      batch.includes(poison) ? Promise.reject(new Error('this image breaks the model')) : real(batch),
    );
    const results = await Promise.allSettled(pixels.map((image) => batcher.embedImage(image)));
    for (const [i, result] of results.entries()) {
      if (i === 3) {
        assert.equal(result.status, 'rejected');
        assert.match(String((result as PromiseRejectedResult).reason), /breaks the model/);
      } else {
        assert.equal(result.status, 'fulfilled', `input ${i}: ${String((result as PromiseRejectedResult).reason)}`);
        assert.deepEqual(Array.from((result as PromiseFulfilledResult<Float32Array>).value), Array.from(alone[i]!));
      }
    }
    // The shared pass, then each input alone.
    assert.equal(embedImages.mock.callCount(), 1 + pixels.length);
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

    const search = (text: string) =>
      execute(server, services, 'query ($t: String!) { search(text: $t, limit: 2) { hits { score } } }', { t: text });

    test('concurrent searches share model calls', async (t) => {
      const embedTexts = t.mock.method(await testModel(), 'embedTexts');
      const texts = TEXTS.map((text) => `${text} on a concurrent search`);
      const results = await Promise.all(texts.map(search));
      assert.ok(results.every((r) => r.errors === undefined));
      const calls = embedTexts.mock.callCount();
      assert.ok(calls >= 1 && calls < texts.length, `${calls} model calls for ${texts.length} searches`);
    });

    test('the text embedding cache spares the model on a repeated text', async (t) => {
      await search('a red car, twice');
      const embedTexts = t.mock.method(await testModel(), 'embedTexts');
      await search('a red car, twice');
      assert.equal(embedTexts.mock.callCount(), 0);
    });
  });
});
