/**
 * `agentgate run -c <file>` as a real node process (tsx), for tests that SIGKILL it. Its output is
 * kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

export interface DaemonProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the signal (or null) once the process exited. */
  exited(): Promise<NodeJS.Signals | null>;
  alive(): boolean;
}

/** Writes the config as YAML into a fresh temporary folder; returns the file and its clean-up. */
export function writeConfigFile(config: Record<string, unknown>): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-fault-'));
  const file = join(dir, 'agentgate.yaml');
  writeFileSync(file, stringify(config));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function startDaemonProcess(file: string): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  return {
    child,
    output: () => out,
    exited: () => exit,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}
