/**
 * The daemon as a real process (`agentgate run -c <file>`), killed with SIGKILL while three legs
 * ring: no stop() runs, no websocket close frame is sent, nothing is flushed. The next process with
 * the same instance id must find the dispatch in Redis, hang the legs up and send the caller on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Simulator } from '../../../src/sim/index.js';
import { ALICE, makeStore, scripts, until } from '../../support/dispatch-harness.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../support/redis.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

function writeConfig(sim: Simulator, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-kill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agentgate.yaml');
  writeFileSync(
    file,
    stringify({
      instance: { id: 'inst-killed' },
      log: { level: 'warn' },
      servers: [
        { name: 'pbx1', ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 } },
      ],
      store: { redis: { url: REDIS_URL, prefix } },
      http: { enabled: false },
      dispatch: { answer: 'late', ringTimeoutSec: 60 },
      directory: {
        users: [ALICE],
        extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      },
    }),
  );
  return file;
}

/** `agentgate run -c file` as its own node process; its output is kept for the failure message. */
function startDaemonProcess(file: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'run', '-c', file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out };
}

async function killed(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode;
  return new Promise((r) => child.once('exit', (_code, signal) => r(signal)));
}

describe('dispatch: the daemon process killed mid-ring', () => {
  it('SIGKILL while three legs ring; the next start hangs the legs up, continues the caller with NOANSWER and leaves nothing in Redis', async () => {
    const prefix = uniquePrefix();
    const sim = await Simulator.start();
    cleanups.push(
      () => sim.stop(),
      () => deletePrefix(prefix),
    );
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const file = writeConfig(sim, prefix);

    const first = startDaemonProcess(file);
    await until(() => sim.pbx.heldApps.has('agentgate'), 20_000, `the first daemon to connect:\n${first.output()}`);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 5000, 'three legs ringing');

    first.child.kill('SIGKILL');
    expect(await killed(first.child)).toBe('SIGKILL');
    await until(() => !sim.pbx.heldApps.has('agentgate'), 5000, 'the websocket to drop');
    expect(sim.pbx.channels()).toHaveLength(4); // caller waiting in Stasis, three legs still ringing

    const second = startDaemonProcess(file);
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    await until(() => sim.pbx.channels().length === 0, 5000, 'every leg hung up');
    for (const r of sim.pbx.hangupRecords().filter((x) => x.name.startsWith('PJSIP/200'))) expect(r.cause).toBe(16);

    const { store, cleanup } = await makeStore('redis', { prefix });
    cleanups.push(cleanup);
    await until(async () => (await store.listDispatches({ owner: 'inst-killed' })).length === 0, 5000, 'the dispatch record removed');
    expect(await store.leaseHolder('agent:alice')).toBeNull();
    expect(await store.queryAudit({ kind: 'dispatch', result: 'RECOVERED' })).toHaveLength(1);

    second.child.kill('SIGTERM');
    expect(await killed(second.child)).toBeNull(); // a clean stop on SIGTERM: exit code, not the signal
    expect(second.child.exitCode).toBe(0);
  }, 60_000);
});
