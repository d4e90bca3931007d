#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so the published bin and the repo agree byte for byte.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
