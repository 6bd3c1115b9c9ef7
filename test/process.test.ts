import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, testModelDir, until } from './support/harness.js';
import { createLogger } from '../src/logger.js';
import { startApollo } from '../src/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The service as a supervisor runs it, with `env` on top of this process's environment. */
async function run(command: string, args: string[], env: Record<string, string>, { detached = false } = {}) {
  const dataDir = await tempDir();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_URI: dataDir,
    EMBEDDING_MODEL: await testModelDir(),
    ...env,
  };
  delete childEnv.NODE_TEST_CONTEXT;
  // `detached`: a process group of its own, as a terminal gives the command it runs.
  const child = spawn(command, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close', not 'exit': it waits until every process holding the pipes has gone and their output has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, output: () => output, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const below = (p: number): number[] =>
    [...parents].filter(([, parent]) => parent === p).flatMap(([c]) => [c, ...below(c)]);
  return below(pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const listeningPort = (output: string) => Number(/"url":"http:\/\/[^"/]+:(\d+)\/graphql"/.exec(output)?.[1] ?? 0);

/** Waits for the service's listening line, then for /readyz to answer 200. */
async function untilReady(output: () => string): Promise<void> {
  await until(() => listeningPort(output()) > 0, 'the listening line');
  const url = `http://127.0.0.1:${listeningPort(output())}`;
  await until(
    () =>
      fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ),
    'readiness',
  );
}

/** How the process behaves for a supervisor: failure is failure, and a stop stops everything. */
describe('process life', () => {
  test('a port already in use makes the service exit 1, naming the port', async () => {
    const holder = createServer().listen(0, '::');
    await new Promise((resolve) => holder.once('listening', resolve));
    const port = (holder.address() as { port: number }).port;
    const service = await run(process.execPath, ['--import', 'tsx', 'src/index.ts'], { PORT: String(port) });
    try {
      assert.equal(await service.exited, 1);
      assert.match(service.output(), new RegExp(`cannot listen on PORT ${port}: EADDRINUSE`));
    } finally {
      holder.close();
      await service.cleanup();
    }
  });

  test('an EMBEDDING_MODEL path with no model in it makes the service exit 1, naming the variable', async () => {
    const service = await run(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      PORT: '0',
      EMBEDDING_MODEL: './no-such-dir',
    });
    try {
      assert.equal(await service.exited, 1);
      assert.match(service.output(), /EMBEDDING_MODEL: \.\/no-such-dir is not a directory/);
      assert.doesNotMatch(service.output(), /tokenizer_class/);
      // One short line a person can read: no stack trace, the message once, nothing after it.
      const fatal = service
        .output()
        .split('\n')
        .filter((line) => line.includes('start-up failed'));
      assert.equal(fatal.length, 1, service.output());
      assert.ok(fatal[0]!.length < 600, fatal[0]);
      assert.doesNotMatch(service.output(), /\\n\s+at |"stack"/);
      assert.doesNotMatch(service.output().slice(service.output().indexOf('start-up failed')), /listening/);
    } finally {
      await service.cleanup();
    }
  });

  test('a mistyped setting makes the service exit 2, naming the setting, without a stack trace', async () => {
    const service = await run(process.execPath, ['--import', 'tsx', 'src/index.ts'], { PORT: 'abc' });
    try {
      assert.equal(await service.exited, 2);
      assert.match(service.output(), /^Invalid settings:\n {2}PORT: /);
      assert.doesNotMatch(service.output(), /\n\s+at /);
    } finally {
      await service.cleanup();
    }
  });

  test("LOG_LEVEL governs Lance's own log lines too", async () => {
    const lanceWarnings = async (env: Record<string, string>) => {
      const child = await run(process.execPath, ['--import', 'tsx', 'test/support/lance-warning.ts'], env);
      assert.equal(await child.exited, 0);
      await child.cleanup();
      return child
        .output()
        .split('\n')
        .filter((line) => / WARN +lance/.test(line)).length;
    };
    assert.ok((await lanceWarnings({ LOG_LEVEL: 'info' })) > 0, 'the probe makes Lance warn at the default level');
    assert.equal(await lanceWarnings({ LOG_LEVEL: 'error' }), 0);
  });

  test('Apollo leaves SIGINT and SIGTERM to the process: it adds no handler of its own', async () => {
    // Apollo adds its handlers unless NODE_ENV is `test`; its stop() beside the process's own
    // stop hung the second one (Apollo 5.5), seen as a stop during a cold start taking 30 s.
    const nodeEnv = process.env.NODE_ENV;
    const listeners = () => (['SIGINT', 'SIGTERM'] as const).map((signal) => process.listenerCount(signal));
    const before = listeners();
    try {
      delete process.env.NODE_ENV;
      const apollo = await startApollo({}, createLogger('silent'));
      const during = listeners();
      await apollo.stop();
      assert.deepEqual(during, before);
    } finally {
      if (nodeEnv !== undefined) process.env.NODE_ENV = nodeEnv;
    }
  });

  test('a repeated SIGTERM does not cut the graceful stop short: the service exits 0', async () => {
    const service = await run(process.execPath, ['--import', 'tsx', 'src/index.ts'], { PORT: '0' });
    try {
      await untilReady(service.output);
      service.child.kill('SIGTERM');
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
      assert.match(service.output(), /shutting down/);
    } finally {
      if (alive(service.child.pid!)) service.child.kill('SIGKILL');
      await service.cleanup();
    }
  });

  test('one Ctrl-C on `npm start` (SIGINT to its process group) stops the service gracefully: exit 0', async () => {
    const npm = await run('npm', ['start', '--silent'], { PORT: '0' }, { detached: true });
    try {
      await untilReady(npm.output);
      // As a terminal does: the signal goes to every process of the group, npm and the service,
      // and npm forwards its copy to the service too.
      process.kill(-npm.child.pid!, 'SIGINT');
      // npm passes on the service's status (1 when the second copy cut the stop short), unless it
      // ends by the signal it got itself first, as it sometimes does.
      const code = await npm.exited;
      assert.ok(code === 0 || (code === null && npm.child.signalCode === 'SIGINT'), `${code}\n${npm.output()}`);
      assert.match(npm.output(), /shutting down/);
      assert.doesNotMatch(npm.output(), /shutdown failed|did not finish/);
    } finally {
      for (const pid of [npm.child.pid!, ...descendants(npm.child.pid!)].filter(alive)) process.kill(pid, 'SIGKILL');
      await npm.cleanup();
    }
  });

  test('SIGTERM to `npm start` stops the service and leaves no process behind', async () => {
    const npm = await run('npm', ['start', '--silent'], { PORT: '0' });
    let below: number[] = [];
    try {
      await untilReady(npm.output);
      below = descendants(npm.child.pid!);
      assert.ok(below.length > 0, 'npm runs the service as a child');
      npm.child.kill('SIGTERM');
      // Not `npm.exited` ('close'): orphans left behind would hold the pipes open, and the test
      // would hang instead of failing. npm's own exit, then its children's, each within a bound.
      await until(() => npm.child.exitCode !== null || npm.child.signalCode !== null, 'npm to exit', 20_000);
      await until(() => below.every((pid) => !alive(pid)), 'every child to exit', 20_000);
      await npm.exited;
      assert.match(npm.output(), /shutting down/);
    } finally {
      for (const pid of [npm.child.pid!, ...below].filter(alive)) process.kill(pid, 'SIGKILL');
      await npm.cleanup();
    }
  });
});
