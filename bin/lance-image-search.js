#!/usr/bin/env node
// The installed command. It runs the TypeScript sources through tsx, as `npm start` does, so it
// works straight after `npm install` with no build step. LanceDB needs Node.js 22 or newer: on an
// older one it runs itself again through scripts/with-node.sh, as the npm scripts do.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

if (Number(process.versions.node.split('.')[0]) < 22) {
  const withNode = fileURLToPath(new URL('../scripts/with-node.sh', import.meta.url));
  const self = fileURLToPath(import.meta.url);
  const child = spawn(withNode, ['node', self, ...process.argv.slice(2)], { stdio: 'inherit' });
  // A Ctrl-C reaches the child from the terminal itself; a SIGTERM sent to this process is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
