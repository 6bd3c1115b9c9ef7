// A throwaway redis-server child process for the shared-cache tests (CACHE_URL=redis://...).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** False when redis-server can run here, else why the Redis tests skip. */
export const REDIS_SKIP =
  spawnSync('redis-server', ['--version']).error === undefined
    ? false
    : 'redis-server is not installed: apt-get install redis-server';

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:{port} */
  url: string;
  /** Every key in the server (redis-cli --scan), for looking at what the caches wrote. */
  keys(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port, in memory only (no RDB, no AOF). */
export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'redis-test-'));
  // A port found free can be taken before redis binds it; then redis exits and another is tried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, dir);
    } catch (error) {
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

async function launch(port: number, dir: string): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', killOnExit));

  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${output}`)));
  });

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    keys: async () => {
      const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(port), '--scan']);
      return stdout.split('\n').filter(Boolean);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
