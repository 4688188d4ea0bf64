/**
 * Issue #16 item 6: signals, on the daemon as a real process (`agentgate run`, src/cli/bin.ts).
 * - SIGHUP reloads: a changed directory is imported as a new policy version (audited as the config
 *   file) and the log says what changed; an invalid config is refused with its errors and the running
 *   policy kept; settings that cannot change live are logged as "restart needed".
 * - SIGTERM always ends it: also while ARI does not answer and the AMI login fails (still starting);
 *   a request in flight is drained; a second SIGTERM during the stop exits at once.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/index.js';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { systemClock } from '../../src/ports/clock.js';
import { sha256 } from '../../src/app/tokens.js';
import { startDaemonProcess, writeConfigFile, type DaemonProcess } from '../support/daemon-process.js';
import { until } from '../support/dispatch-harness.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

let sim: Simulator;
beforeAll(async () => {
  sim = await Simulator.start();
});
afterAll(async () => {
  await sim.stop();
});

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  sim.faults.clear();
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

function daemon(file: string): DaemonProcess {
  const p = startDaemonProcess(file);
  cleanups.push(() => {
    if (p.alive()) p.child.kill('SIGKILL');
  });
  return p;
}

/** The JSON log lines of the process so far. */
function lines(p: DaemonProcess): Array<Record<string, unknown> & { msg?: string }> {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { msg?: string });
}

async function exitCode(p: DaemonProcess): Promise<number | null> {
  await p.exited();
  return p.child.exitCode;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const TOKEN = 'agt_signals-test-token';
const DIRECTORY = {
  users: [
    { id: 'olivia', name: 'Olivia', role: 'administrator', scope: 'office_manager' },
    { id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', extensions: ['1001'] },
  ],
  extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
  queues: [{ id: 'support' }],
  grants: [
    {
      id: 'admin-all',
      subject: 'user:olivia',
      actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
      targets: ['extension:1001', 'queue:support'],
    },
  ],
};

function config(prefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance: { id: `sig-${prefix}` },
    log: { level: 'info' },
    servers: [
      { name: 'pbx1', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 30_000 } },
    ],
    store: { redis: { url: REDIS_URL, prefix } },
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    tokens: [{ user: 'olivia', sha256: sha256(TOKEN) }],
    directory: DIRECTORY,
    ...extra,
  };
}

describe('SIGHUP reloads the config', () => {
  it(
    'imports a changed directory as a new version and logs what changed; refuses an invalid config and keeps the policy; names settings that need a restart',
    { timeout: 60_000 },
    async () => {
      const prefix = uniquePrefix();
      cleanups.push(() => deletePrefix(prefix));
      const cfg = writeConfigFile(config(prefix));
      cleanups.push(cfg.remove);
      const write = (c: Record<string, unknown>): void => writeFileSync(cfg.file, stringify(c));
      const p = daemon(cfg.file);
      await until(
        () => p.output().includes('agentgate started'),
        30_000,
        () => `the daemon to start:\n${p.output()}`,
      );

      // A user and a grant added, nothing else: imported as version 2, audited as the config file.
      write(
        config(prefix, {
          directory: {
            ...DIRECTORY,
            users: [...DIRECTORY.users, { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent' }],
            grants: [
              ...DIRECTORY.grants,
              { id: 'alice-self', subject: 'user:alice', actions: ['login'], targets: ['user:alice', 'queue:support'] },
            ],
          },
        }),
      );
      p.child.kill('SIGHUP');
      await until(
        () => lines(p).some((l) => String(l.msg).startsWith('config reloaded')),
        10_000,
        () => `the reload log line:\n${p.output()}`,
      );
      expect(p.alive()).toBe(true);
      const reloaded = lines(p).find((l) => String(l.msg).startsWith('config reloaded'))!;
      expect(reloaded).toMatchObject({
        imported: true,
        policyVersion: 2,
        changed: { users: { added: 1, removed: 0, changed: 0 }, grants: { added: 1, removed: 0, changed: 0 } },
      });
      const store = await createRedisStore({ url: REDIS_URL, prefix, clock: systemClock() });
      cleanups.push(() => store.close());
      expect((await store.getPolicy())?.version).toBe(2);
      expect((await store.queryAudit({ kind: 'policy-change' }))[0]).toMatchObject({
        actor: 'config',
        action: 'import',
        result: 'ok',
        detail: { file: cfg.file, from: 1, version: 2 },
      });

      // An invalid config: refused with the path of the bad field; the process and version 2 stay.
      const before = p.output().length;
      write(
        config(prefix, { directory: { ...DIRECTORY, users: [{ ...DIRECTORY.users[1], flags: { blended: true } }, DIRECTORY.users[0]] } }),
      );
      p.child.kill('SIGHUP');
      await until(
        () => p.output().slice(before).includes('config reload refused'),
        10_000,
        () => `the refusal:\n${p.output()}`,
      );
      expect(p.output().slice(before)).toContain('directory.users[0].flags.blended');
      expect(p.alive()).toBe(true);
      expect((await store.getPolicy())?.version).toBe(2);

      // http changed, directory as in force: nothing imported, "restart needed" for http.
      const before2 = p.output().length;
      write(
        config(prefix, {
          http: { enabled: true, host: '127.0.0.1', port: 0, bodyLimit: 4096 },
          directory: {
            ...DIRECTORY,
            users: [...DIRECTORY.users, { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent' }],
            grants: [
              ...DIRECTORY.grants,
              { id: 'alice-self', subject: 'user:alice', actions: ['login'], targets: ['user:alice', 'queue:support'] },
            ],
          },
        }),
      );
      p.child.kill('SIGHUP');
      await until(
        () => p.output().slice(before2).includes('restart needed'),
        10_000,
        () => `restart needed:\n${p.output()}`,
      );
      const restart = lines(p).find((l) => Array.isArray(l.restartNeeded))!;
      expect(restart.restartNeeded).toEqual(['http']);
      expect((await store.getPolicy())?.version).toBe(2);

      p.child.kill('SIGTERM');
      expect(await exitCode(p)).toBe(0);
    },
  );
});

describe('SIGTERM always ends the daemon', () => {
  it('while it is still starting (ARI unreachable, AMI login refused): a clean stop, exit 0', { timeout: 60_000 }, async () => {
    const cfg = writeConfigFile({
      instance: { id: 'sig-starting' },
      servers: [
        {
          name: 'pbx1',
          ari: { url: `http://127.0.0.1:${await closedPort()}`, username: 'agentgate', password: 'secret' },
          ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'wrong' },
        },
      ],
      http: { enabled: true, host: '127.0.0.1', port: 0 },
      directory: DIRECTORY,
    });
    cleanups.push(cfg.remove);
    const p = daemon(cfg.file);
    await until(
      () => /ARI at \S+ not reachable/.test(p.output()),
      40_000,
      () => `ARI retries:\n${p.output()}`,
    );
    p.child.kill('SIGTERM');
    const t0 = Date.now();
    expect(await exitCode(p), p.output()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(p.output()).toContain('"msg":"stopping"');
  });

  it('drains a request in flight, and a second SIGTERM during the stop exits at once', { timeout: 60_000 }, async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix));
    const cfg = writeConfigFile(config(prefix));
    cleanups.push(cfg.remove);
    const login = (url: string) =>
      fetch(`${url}/v1/queue/login`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ extension: '1001', queue: 'support' }),
      });
    const httpUrl = (p: DaemonProcess): string => String(lines(p).find((l) => l.msg === 'HTTP API listening')!.url);

    // One SIGTERM: the queue login in flight still gets its answer, then the process exits 0.
    const p = daemon(cfg.file);
    await until(
      () => p.output().includes('agentgate started'),
      30_000,
      () => `the daemon to start:\n${p.output()}`,
    );
    sim.ami.delayAction('QueueAdd', 1500);
    const sent = sim.ami.received.length;
    const answer = login(httpUrl(p));
    await until(
      () => sim.ami.received.slice(sent).some((r) => r.action.toLowerCase() === 'queueadd'),
      10_000,
      'the QueueAdd to reach the PBX',
    );
    p.child.kill('SIGTERM');
    const r = await answer;
    expect(r.status).toBe(200);
    expect(await exitCode(p), p.output()).toBe(0);
    sim.faults.clear();

    // A stop that waits (a QueueAdd Asterisk answers only after a minute): a second SIGTERM ends it.
    const q = daemon(cfg.file);
    await until(
      () => q.output().includes('agentgate started'),
      30_000,
      () => `the daemon to start:\n${q.output()}`,
    );
    sim.ami.delayAction('QueueAdd', 60_000);
    const sent2 = sim.ami.received.length;
    const hanging = login(httpUrl(q)).catch(() => undefined);
    await until(() => sim.ami.received.slice(sent2).some((x) => x.action.toLowerCase() === 'queueadd'), 10_000, 'the second QueueAdd');
    q.child.kill('SIGTERM');
    await until(() => q.output().includes('"msg":"stopping"'), 5000, 'the first stop');
    expect(q.alive()).toBe(true);
    q.child.kill('SIGTERM');
    const t0 = Date.now();
    expect(await exitCode(q)).toBe(143);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(q.output()).toContain('second stop signal: exiting at once');
    await hanging;
  });
});
