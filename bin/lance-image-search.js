#!/usr/bin/env node
// The installed command. It runs the TypeScript sources through tsx, as `npm start` does, so it
// works straight after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
