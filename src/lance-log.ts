/**
 * Lance (Rust, inside @lancedb/lancedb) logs to stderr through env_logger, which reads
 * LANCEDB_LOG once, when the native module loads. This module sets it from LOG_LEVEL, unless it is
 * set already, so that LOG_LEVEL governs Lance's lines too. It must be imported before anything
 * that imports @lancedb/lancedb: src/index.ts imports it first.
 */
const LANCE_LEVELS: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'warn',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
  silent: 'off',
};

process.env.LANCEDB_LOG ??= LANCE_LEVELS[process.env.LOG_LEVEL ?? 'info'] ?? 'warn';
