import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings, type Settings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createApp, type App } from '../../src/server.js';
import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import { startServices, type Services } from '../../src/services/index.js';

/**
 * Settings for one measurement: a fresh temp dataset, silent logs, and automatic index builds
 * off (INDEX_MIN_ROWS out of reach) so that only the suite decides when an index exists.
 * Everything else keeps the service's defaults.
 */
async function benchSettings(env: Record<string, string>): Promise<Settings> {
  return loadSettings({
    DATA_URI: await mkdtemp(path.join(tmpdir(), 'bench-data-')),
    LOG_LEVEL: 'silent',
    INDEX_MIN_ROWS: '1000000000',
    ...env,
  });
}

/** The real services on a fresh temp dataset; `close()` also deletes the dataset. */
export async function openServices(model: ClipModel, env: Record<string, string> = {}): Promise<Services> {
  const settings = await benchSettings(env);
  const services = await startServices(settings, createLogger('silent'), model);
  return withCleanup(services, settings.DATA_URI);
}

export interface RunningApp {
  app: App;
  services: Services;
  /** Base URL of the listening server, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** The real HTTP server on a free loopback port, over a fresh temp dataset. */
export async function openApp(model: ClipModel, env: Record<string, string> = {}): Promise<RunningApp> {
  const settings = await benchSettings(env);
  const app = await createApp(settings, createLogger('silent'), { model });
  const services = await app.services;
  const server = await app.listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    services,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await rm(settings.DATA_URI, { recursive: true, force: true });
    },
  };
}

function withCleanup(services: Services, dataDir: string): Services {
  const close = services.close;
  return {
    ...services,
    close: async () => {
      await close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
