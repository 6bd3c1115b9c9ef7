// The service as a real separate process (`node --import tsx src/index.ts`), for tests of several
// replicas sharing one dataset: each has its own Lance connection, writer and id set.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { multipart, type GraphQLResponse } from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const UPLOAD = 'mutation ($file: Upload!) { uploadImage(file: $file) { created image { id } } }';

/** One line of the process's pino output. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ServiceProcess {
  /** http://127.0.0.1:{port} */
  url: string;
  pid: number;
  /** Every JSON log line so far (LOG_LEVEL=info unless the env says otherwise). */
  logs: LogLine[];
  /** POSTs one GraphQL operation as JSON. */
  graphql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Uploads one file with a multipart request (with the CSRF preflight header); returns the new id. */
  upload(bytes: Uint8Array, filename: string): Promise<{ id: string; created: boolean }>;
  /** SIGTERM (the service flushes its writer and closes), SIGKILL if it has not exited within 15 s. */
  stop(): Promise<void>;
  /** SIGKILL at once: the process dies as on a crash, without closing anything. */
  kill(): Promise<void>;
}

export { testModelDir } from './harness.js';

/** A port nothing listens on now, for a process that must know its own address before it starts (REPLICA_URL). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the service with `env` on top of this process's environment, on a port of its own
 * choosing (PORT=0; the port is read from its "listening" log line), and resolves once /readyz
 * answers 200. Rejects with the process's output if it exits or is not ready in `readyWithinMs`.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  { readyWithinMs = 60_000, built = false } = {},
): Promise<ServiceProcess> {
  const { child, exited } = spawnService(env, built);

  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const listening = new Promise<number>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        return; // not pino's (a library printing to stdout)
      }
      logs.push(entry);
      const port = /^http:\/\/[^/]+:(\d+)\//.exec(String(entry.url ?? ''))?.[1];
      if (entry.msg.startsWith('listening') && port) resolve(Number(port));
    });
  });

  const failure = (why: string) =>
    new Error(
      `service process ${child.pid} ${why}\n--- logs ---\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr ---\n${stderr}`,
    );
  const deadline = Date.now() + readyWithinMs;
  const early = exited.then((code) => {
    throw failure(`exited with ${code} before it was ready`);
  });
  const late = delay(readyWithinMs).then(() => Promise.reject(failure('never logged that it listens')));
  // Both are only awaited through Promise.race, which may have settled already when they reject.
  early.catch(() => {});
  late.catch(() => {});
  try {
    const port = await Promise.race([listening, early, late]);
    const url = `http://127.0.0.1:${port}`;
    while (
      (await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) throw failure(`was not ready within ${readyWithinMs} ms`);
      await Promise.race([delay(100), early]);
    }
    return handle(url, child.pid!, logs, stop, kill);
  } catch (error) {
    await stop();
    throw error;
  }

  async function kill(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  }

  async function stop(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** What a service that failed to start left: its exit code, its JSON log lines and its whole stderr. */
export interface FailedStart {
  code: number | null;
  logs: LogLine[];
  stderr: string;
}

/**
 * Starts the service with `env` and waits for it to exit by itself; rejects (and kills it) if it
 * is still running after `exitWithinMs`: a start that succeeded, or one that hangs.
 */
export async function startServiceToFailure(env: Record<string, string>, exitWithinMs = 60_000): Promise<FailedStart> {
  const { child } = spawnService(env, false);
  // 'close', not 'exit': it waits until the pipes are drained, so every line has been read.
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), exitWithinMs);
  const code = await closed;
  clearTimeout(timer);
  if (child.signalCode === 'SIGKILL') throw new Error(`the service was still running after ${exitWithinMs} ms`);
  const logs = stdout.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return []; // not pino's
    }
  });
  return { code, logs, stderr };
}

/** The service's process, with `env` on top of this process's environment and PORT=0. */
function spawnService(env: Record<string, string>, built: boolean) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env };
  delete childEnv.NODE_TEST_CONTEXT; // set by `node --test` for its own children; the service is not one
  // `built`: the production build (`npm run build`), as deployed, without tsx's compile on start.
  const args = built ? ['dist/index.js'] : ['--import', 'tsx', 'src/index.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test process that dies must not leave servers behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => process.off('exit', killOnExit));
  return { child, exited };
}

function handle(
  url: string,
  pid: number,
  logs: LogLine[],
  stop: () => Promise<void>,
  kill: () => Promise<void>,
): ServiceProcess {
  const post = async <T>(init: RequestInit): Promise<GraphQLResponse<T>> => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', ...init });
    return (await response.json()) as GraphQLResponse<T>;
  };
  return {
    url,
    pid,
    logs,
    stop,
    kill,
    graphql: (query, variables = {}) =>
      post({ body: JSON.stringify({ query, variables }), headers: { 'content-type': 'application/json' } }),
    upload: async (bytes, filename) => {
      const result = await post<{ uploadImage: { created: boolean; image: { id: string } } }>({
        body: multipart(UPLOAD, [{ bytes, name: filename }]),
        headers: { 'apollo-require-preflight': 'true' },
      });
      if (!result.data) throw new Error(`upload to ${url} failed: ${JSON.stringify(result.errors)}`);
      return { id: result.data.uploadImage.image.id, created: result.data.uploadImage.created };
    },
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
