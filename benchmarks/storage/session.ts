import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings, type Settings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import { startServices, type Services } from '../../src/services/index.js';
import { openStorage } from '../../src/services/storage/storage.js';
import { s3Settings, type Target } from './targets.js';

/** How many deletes run at once when a remote dataset is removed (each is one request). */
const DELETE_CONCURRENCY = 16;

/** One dataset on one target: the settings that reach it, and how to remove it afterwards. */
export interface DatasetPlace {
  settings: Settings;
  remove(): Promise<void>;
}

/**
 * A fresh, empty dataset location on `target`. Settings keep the service's defaults (read
 * consistency 1 s, memory cache) except silent logs and no automatic index: every measured
 * search is a flat scan, as the brief asks.
 */
export async function newPlace(target: Target, name: string): Promise<DatasetPlace> {
  const common = { LOG_LEVEL: 'silent', INDEX_MIN_ROWS: '1000000000' };
  if (!target.s3) {
    const dir = await mkdtemp(path.join(tmpdir(), `bench-storage-${name}-`));
    return {
      settings: loadSettings({ ...common, DATA_URI: dir }),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const settings = loadSettings({ ...common, ...s3Settings(target.s3, name) });
  // Clean-up bypasses the proxy: its requests and delays are not part of any measurement.
  const direct = loadSettings({
    ...common,
    ...s3Settings(target.s3, name, target.s3.directEndpoint ?? target.s3.endpoint),
  });
  return { settings, remove: () => removeObjects(direct) };
}

/** Deletes every object under the dataset's prefix, a few at a time. */
export async function removeObjects(settings: Settings): Promise<void> {
  const { objects } = openStorage(settings);
  const keys: string[] = [];
  for await (const object of objects.list('')) keys.push(object.key);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) await objects.delete(keys[next++]!);
  };
  await Promise.all(Array.from({ length: DELETE_CONCURRENCY }, worker));
}

/** The service's own start-up on `settings`, sharing the already loaded model. */
export function startOn(settings: Settings, model: ClipModel): Promise<Services> {
  return startServices(settings, createLogger('silent'), model);
}
