#!/usr/bin/env node
// Runs the TypeScript sources through tsx so `npx agentgate` works straight after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
