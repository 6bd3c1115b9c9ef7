// First: it sets Lance's log level before @lancedb/lancedb loads.
import './lance-log.js';
import { loadSettings } from './config.js';
import { isLoopback } from './http/auth.js';
import { createLogger } from './logger.js';
import { createApp } from './server.js';
import { SAME_CTRL_C_MS } from './cli/interruption.js';

const settings = (() => {
  try {
    return loadSettings();
  } catch (error) {
    // A setting the operator mistyped: its name and the problem, not a stack trace.
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
})();
const logger = createLogger(settings.LOG_LEVEL);
const app = await createApp(settings, logger);
// A start that fails says why in one line (the message names the setting to change) and ends
// the process at once, before any later line could suggest it is serving.
let failed = false;
app.services.catch((error: unknown) => {
  failed = true;
  logger.fatal(`start-up failed: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
const server = await app.listen(settings.PORT).catch((error: NodeJS.ErrnoException) => {
  logger.fatal({ port: settings.PORT }, `cannot listen on PORT ${settings.PORT}: ${error.code ?? error.message}`);
  process.exit(1);
});
if (!failed) announce();

function announce(): void {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.PORT;
  const shown = !settings.HOST || settings.HOST === '::' || settings.HOST === '0.0.0.0' ? 'localhost' : settings.HOST;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/graphql`;
  const local = isLoopback(settings.HOST) || settings.HOST === 'localhost';
  logger.info({ url }, 'listening; the model loads in the background');
  if (local && !settings.API_KEY) {
    logger.info(
      'only this machine can connect: API_KEY is unset. To serve others, set API_KEY and HOST=0.0.0.0 (HOST alone opens uploads and searches, not deletes or restores)',
    );
  } else if (!settings.API_KEY) {
    logger.warn(
      { host: settings.HOST },
      'OPEN TO THE NETWORK WITHOUT API_KEY: anyone who can reach this port can upload and search; deletes, restores, optimizes and index builds still answer only to this machine. Set API_KEY.',
    );
  }
}

// A supervisor may send its signal more than once (npm forwards SIGTERM to the service it runs):
// the first starts a graceful stop, a repeated SIGTERM must not cut it short; a second Ctrl-C
// does. One Ctrl-C under `npm start` arrives twice at once (the terminal signals the whole
// process group, and npm forwards it), so a SIGINT within a second of the first is that same one.
const SHUTDOWN_DEADLINE_MS = 30_000;
let stoppingSince: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stoppingSince !== undefined) {
      if (signal === 'SIGINT' && Date.now() - stoppingSince > SAME_CTRL_C_MS) process.exit(1);
      return;
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down');
    // A stop that hangs (a request that never ends, a stuck bucket) still ends.
    setTimeout(() => {
      logger.error({ ms: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
