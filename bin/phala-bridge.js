#!/usr/bin/env node
// The CLI from this checkout's TypeScript sources, through tsx (npm start, the tests): no build
// step, never a stale dist/. The published package's bin is the compiled dist/cli/main.js.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
