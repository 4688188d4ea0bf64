import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { vi } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Collects what a command writes to stdout and stderr (in-process runs of main()/run()). */
export function captureOutput(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  return { out: () => out, err: () => err };
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * `agentgate <args>` from the sources as its own node process (`node --import tsx src/cli/bin.ts`),
 * the way `npm run agentgate --` runs it; env entries set to undefined are removed.
 */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/cli/bin.ts'), ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exited };
}

/** Runs a command to its end: exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; output: string }> {
  const p = spawnCli(args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

/** A config with `line` pasted under `tokens:`, as `agentgate token create` tells the admin to do. */
export function pasteToken(configText: string, line: string): string {
  if (!/^tokens:\n/m.test(configText)) throw new Error('the config has no `tokens:` line to paste under');
  return configText.replace(/^tokens:\n/m, `tokens:\n${line}\n`);
}
