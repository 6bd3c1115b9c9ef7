// First: it sets Lance's log level before @lancedb/lancedb loads.
import './lance-log.js';
import { loadSettings } from './config.js';
import { createLogger } from './logger.js';
import { createApp } from './server.js';

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
const server = await app.listen(settings.PORT).catch((error: NodeJS.ErrnoException) => {
  logger.fatal(
    { err: error, port: settings.PORT },
    `cannot listen on PORT ${settings.PORT}: ${error.code ?? error.message}`,
  );
  process.exit(1);
});
const address = server.address();
const port = typeof address === 'object' && address ? address.port : settings.PORT;
logger.info({ url: `http://localhost:${port}/graphql` }, 'listening; the model loads in the background');
app.services.catch(() => process.exit(1));

// A supervisor may send its signal more than once (npm forwards SIGTERM to the service it runs):
// the first starts a graceful stop, a repeated SIGTERM must not cut it short; a second Ctrl-C does.
let stopping = false;
const SHUTDOWN_DEADLINE_MS = 30_000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      if (signal === 'SIGINT') process.exit(1);
      return;
    }
    stopping = true;
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
