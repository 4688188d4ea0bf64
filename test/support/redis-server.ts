/**
 * A redis-server of the test's own, on a free loopback port, that the test can stop and start again
 * EMPTY (no RDB, no AOF) — a Redis restart as a fault. Needs the `redis-server` binary (.ci/run
 * makes sure it is installed even when another Redis already answers on 6379).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { vi } from 'vitest';
import { freePort } from './free-port.js';

export class OwnRedis {
  private child: ChildProcess | undefined;
  private output = '';
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), mkdtempSync(join(tmpdir(), 'agentgate-redis-')));
    await r.resume();
    return r;
  }

  /** Starts redis-server (again) on the same port, empty. Resolves once it answers PING. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.output += b.toString()));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`redis-server could not start (is it installed?): ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${this.output}`)));
    });
    failed.catch(() => undefined);
    const answers = vi.waitFor(
      async () => {
        const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        const up = await c
          .connect()
          .then(() => c.ping())
          .then(
            (p) => p === 'PONG',
            () => false,
          );
        c.disconnect();
        if (!up) throw new Error(`redis-server did not answer on ${this.port}:\n${this.output}`);
      },
      { timeout: 5000, interval: 50 },
    );
    answers.catch(() => undefined); // when the process fails first, the race below reports that
    await Promise.race([answers, failed]);
  }

  /** Stops it (SIGKILL: nothing saved, connections cut). Resolves once the process exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops it for good and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
