/**
 * `agentgate run -c <file>` as a real node process (tsx), for tests that SIGKILL it. Its output is
 * kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { vi } from 'vitest';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

export interface DaemonProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the signal (or null) once the process exited. */
  exited(): Promise<NodeJS.Signals | null>;
  alive(): boolean;
  /** Resolves once the output matches re (a log line), or rejects with the output after timeoutMs or when the process exits. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Writes the config as YAML into a fresh temporary folder; returns the file and its clean-up. */
export function writeConfigFile(config: Record<string, unknown>): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-fault-'));
  const file = join(dir, 'agentgate.yaml');
  writeFileSync(file, stringify(config));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function startDaemonProcess(file: string): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'run', '-c', file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => out,
    exited: () => exit,
    alive,
    async waitForOutput(re, timeoutMs = 20_000) {
      // A daemon that exited prints nothing more: that ends the wait at once, not at the timeout.
      let exitedFirst = false;
      await vi.waitFor(
        () => {
          if (re.test(out)) return;
          if (!alive()) {
            exitedFirst = true;
            return;
          }
          throw new Error(`the daemon did not print ${re} within ${timeoutMs} ms:\n${out}`);
        },
        { timeout: timeoutMs, interval: 20 },
      );
      if (exitedFirst) throw new Error(`the daemon exited before printing ${re}:\n${out}`);
    },
  };
}
