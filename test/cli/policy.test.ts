/**
 * Issue #16 item 3: one source of truth for the policy. After the first start the policy lives in the
 * Store; a YAML edit is no longer silently ignored (the start warns, `policy diff` shows it), `explain`
 * answers from the policy the daemon decides from and says which one, `policy import --as` applies
 * the file under the administration rules (versioned, audited) and running daemons follow, and a
 * Redis that restarted empty gets the policy back at the version in force (no 409 until a restart).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { Simulator } from '../../src/sim/index.js';
import { loadConfigFile, validateConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { systemClock } from '../../src/ports/clock.js';
import { sha256 } from '../../src/app/tokens.js';
import { main } from '../../src/cli/main.js';
import { captureLogs } from '../support/log-capture.js';
import { captureOutput } from '../support/cli.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { OwnRedis } from '../support/redis-server.js';

const ALL = ['login', 'logout', 'pause', 'unpause', 'penalty'];
const DIRECTORY = {
  users: [
    { id: 'olivia', name: 'Olivia', role: 'administrator', scope: 'office_manager' },
    { id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', extensions: ['1001'] },
    { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent', extensions: ['1002'] },
  ],
  extensions: [
    { id: '1001', interface: 'PJSIP/1001' },
    { id: '1002', interface: 'PJSIP/1002' },
  ],
  queues: [{ id: 'support' }],
  grants: [
    { id: 'admin-all', subject: 'user:olivia', actions: ALL, targets: ['extension:1001', 'extension:1002', 'queue:support'] },
    { id: 'alice-self', subject: 'user:alice', actions: ['login', 'logout'], targets: ['user:alice', 'queue:support'] },
  ],
};
const BOB_SELF = { id: 'bob-self', subject: 'user:bob', actions: ['login', 'logout'], targets: ['user:bob', 'queue:support'] };

let sim: Simulator;
beforeAll(async () => {
  sim = await Simulator.start();
});
afterAll(async () => {
  await sim.stop();
});

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

function configObject(redisUrl: string, prefix: string, directory: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance: { id: `policy-${prefix}` },
    log: { level: 'info' },
    servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' } }],
    store: { redis: { url: redisUrl, prefix } },
    http: { enabled: false },
    directory,
    ...extra,
  };
}

function tempConfig(config: Record<string, unknown>): { file: string; write: (c: Record<string, unknown>) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-policy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agentgate.yaml');
  const write = (c: Record<string, unknown>): void => writeFileSync(file, stringify(c));
  write(config);
  return { file, write };
}

/** `agentgate <args>` in this process: exit code and output. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureOutput();
  try {
    const code = await main(args);
    return { code, out: io.out(), err: io.err() };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('the Store is the one source of truth for the policy', () => {
  it('a YAML edit after the first start: the start warns, diff shows it, explain answers from the Store and says so, import --as an admin applies it (audited) and the daemon follows', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix));
    const { file, write } = tempConfig(configObject(REDIS_URL, prefix, DIRECTORY));

    // First start: the directory seeds the Store (version 1).
    const first = await startDaemon(loadConfigFile(file), { logger: captureLogs().logger, configFile: file });
    await first.stop();

    // The admin adds a grant to the YAML and restarts: the Store's policy stays in force, with a warning.
    write(configObject(REDIS_URL, prefix, { ...DIRECTORY, grants: [...DIRECTORY.grants, BOB_SELF] }));
    const logs = captureLogs();
    const daemon = await startDaemon(loadConfigFile(file), { logger: logs.logger, configFile: file, policyPollMs: 50 });
    cleanups.push(() => daemon.stop());
    expect(daemon.policy.current().version).toBe(1);
    expect(daemon.policy.current().doc.grants.map((g) => g.id)).toEqual(['admin-all', 'alice-self']);
    const warning = logs.lines.find((l) => l.level === 40 && /differs from the policy in force/.test(String(l.msg)));
    expect(warning?.msg).toContain('1 grant differs (+1)');
    expect(warning?.msg).toContain(`agentgate policy diff -c ${file}`);

    const diff = await cli(['policy', 'diff', '-c', file]);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain('1 grant differs (+1)');
    expect(diff.out).toMatch(/grants +only in .*agentgate\.yaml: bob-self/);

    // explain answers what the daemon would: denied (the Store has no bob-self), and says where from.
    const before = await cli(['explain', 'bob', 'login', '1002', 'support', '-c', file]);
    expect(before.code).toBe(1);
    expect(before.out).toMatch(/^DENIED/);
    expect(before.out).toContain('policy: the policy in force, Store version 1');
    const fromFile = await cli(['explain', 'bob', 'login', '1002', 'support', '-c', file, '--from', 'config']);
    expect(fromFile.code).toBe(0);
    expect(fromFile.out).toContain(`policy: the directory of ${file}`);

    // import: under the administration rules (an agent may not), as one version, audited.
    const refused = await cli(['policy', 'import', '-c', file, '--as', 'alice']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('AGENTGATE_ERR_POLICY_ADMIN');
    expect(refused.err).toContain('admin-role');
    const imported = await cli(['policy', 'import', '-c', file, '--as', 'olivia']);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toContain('as policy version 2 (was 1)');
    expect(imported.out).toContain('add-grant bob-self');
    await vi.waitFor(() => expect(daemon.policy.current().version).toBe(2), { timeout: 5000 });
    expect(daemon.policy.current().doc.grants.map((g) => g.id)).toContain('bob-self');
    const audit = await daemon.store.queryAudit({ kind: 'policy-change' });
    expect(audit.map((a) => [a.actor, a.action, a.result])).toEqual([
      ['olivia', 'import', 'ok'],
      ['alice', 'import', 'denied'],
    ]);

    const after = await cli(['explain', 'bob', 'login', '1002', 'support', '-c', file, '--json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ allowed: true, policy: { source: 'store', version: 2 } });
    expect((await cli(['policy', 'diff', '-c', file])).code).toBe(0);
    expect((await cli(['policy', 'import', '-c', file, '--as', 'olivia'])).out).toContain('nothing to import');

    // export: the policy in force with its version, re-readable as a policy document.
    const exported = await cli(['policy', 'export', '-c', file]);
    expect(exported.code).toBe(0);
    const doc = parse(exported.out) as { version: number; directory: { grants: Array<{ id: string }> } };
    expect(doc.version).toBe(2);
    expect(doc.directory.grants.map((g) => g.id)).toEqual(['admin-all', 'alice-self', 'bob-self']);
    const exportFile = join(file, '..', 'export.yaml');
    writeFileSync(exportFile, exported.out);
    expect((await cli(['policy', 'diff', '-c', file, '--file', exportFile])).code).toBe(0);
    expect(readFileSync(exportFile, 'utf8')).not.toContain('secret');
  });

  it('an import that would grant rights its --as user does not hold is refused as a whole (no-escalation), nothing stored', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix));
    const { file, write } = tempConfig(configObject(REDIS_URL, prefix, DIRECTORY));
    const daemon = await startDaemon(loadConfigFile(file), { logger: captureLogs().logger, configFile: file });
    await daemon.stop();
    const wider = { ...BOB_SELF, id: 'bob-wide', targets: ['user:bob', 'queue:sales'] };
    write(
      configObject(REDIS_URL, prefix, { ...DIRECTORY, queues: [{ id: 'support' }, { id: 'sales' }], grants: [...DIRECTORY.grants, wider] }),
    );
    const r = await cli(['policy', 'import', '-c', file, '--as', 'olivia']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('add-grant bob-wide');
    expect(r.err).toContain('no-escalation');
    const store = await createRedisStore({ url: REDIS_URL, prefix, clock: systemClock() });
    cleanups.push(() => store.close());
    expect((await store.getPolicy())?.version).toBe(1);
  });

  it('explain says it answered from the file when the config names no Redis store', async () => {
    const { file } = tempConfig({ ...configObject(REDIS_URL, 'unused', DIRECTORY), store: {} });
    const r = await cli(['explain', 'alice', 'login', '1001', 'support', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('policy: the directory of');
    expect(r.out).toContain('names no Redis store');
    const p = await cli(['policy', 'diff', '-c', file]);
    expect(p.code).toBe(1);
    expect(p.err).toContain('names no Redis store');
  });

  it('Redis restarts EMPTY: the policy is written back at the version in force, every instance follows it, and policy changes work again without a restart', async () => {
    const redis = await OwnRedis.start();
    cleanups.push(() => redis.destroy());
    const token = 'agt_policy-writeback-test-token';
    const base = configObject(redis.url, 'wb', DIRECTORY, { tokens: [{ user: 'olivia', sha256: sha256(token) }] });
    const logsA = captureLogs();
    const a: Daemon = await startDaemon(
      validateConfig({ ...base, instance: { id: 'wb-a' }, http: { enabled: true, host: '127.0.0.1', port: 0 } }),
      { logger: logsA.logger, policyPollMs: 100 },
    );
    cleanups.push(() => a.stop());
    const logsB = captureLogs();
    const b: Daemon = await startDaemon(validateConfig({ ...base, instance: { id: 'wb-b' } }), { logger: logsB.logger, policyPollMs: 100 });
    cleanups.push(() => b.stop());
    const change = (expectedVersion: number, grant: unknown) =>
      a.http!.inject({
        method: 'POST',
        url: '/v1/policy/changes',
        headers: { authorization: `Bearer ${token}` },
        payload: { expectedVersion, change: { op: 'add-grant', grant } },
      });

    const r1 = await change(1, BOB_SELF);
    expect(r1.statusCode, r1.body).toBe(200);
    expect(r1.json()).toMatchObject({ version: 2 });
    await vi.waitFor(() => expect(b.policy.current().version).toBe(2), { timeout: 5000 });

    await redis.stop();
    await redis.resume(); // empty: no RDB, no AOF
    // Whichever instance notices first writes it back (and says so); the other simply follows.
    await vi.waitFor(() => expect([logsA, logsB].some((l) => l.has(/wrote the policy in force back, as version 2/))).toBe(true), {
      timeout: 15_000,
    });
    const wb = await createRedisStore({ url: redis.url, prefix: 'wb', clock: systemClock() });
    cleanups.push(() => wb.close());
    await vi.waitFor(async () => expect((await wb.getPolicy())?.version).toBe(2), { timeout: 10_000 });
    expect(((await wb.getPolicy())?.doc as { grants: Array<{ id: string }> }).grants.map((g) => g.id)).toContain('bob-self');

    // The next change is accepted (before: 409 "expected 2, found 0" until a restart), and B follows.
    const r2 = await change(2, { ...BOB_SELF, id: 'bob-pause', actions: ['pause'] });
    expect(r2.statusCode, r2.body).toBe(200);
    expect(r2.json()).toMatchObject({ version: 3 });
    await vi.waitFor(() => expect(b.policy.current().version).toBe(3), { timeout: 5000 });
    expect(b.policy.current().doc.grants.map((g) => g.id)).toEqual(a.policy.current().doc.grants.map((g) => g.id));
  });
});
