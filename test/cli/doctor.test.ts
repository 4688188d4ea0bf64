/**
 * `agentgate doctor` against the simulator, with each thing it checks broken in turn: exit 0 only
 * when nothing needed fails, and the one FAIL line names what is broken and what to change.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { endpointOf, formatCheck, hasTransferHandling, runDoctor, type Check } from '../../src/cli/commands/doctor.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/cli.js';
import { writeConfigFile } from '../support/daemon-process.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Over {
  ariPassword?: string;
  amiSecret?: string;
  addresses?: string[];
  queues?: string[];
  redisUrl?: string;
}

async function setUp(simOpts: SimulatorOptions = {}): Promise<{ sim: Simulator; httpPort: number; prefix: string }> {
  const sim = await Simulator.start({ amiAuthFailDelayMs: 50, ...simOpts });
  cleanups.push(() => sim.stop());
  const prefix = uniquePrefix();
  cleanups.push(() => deletePrefix(prefix));
  return { sim, httpPort: await freePort(), prefix };
}

function rawConfig(env: { sim: Simulator; httpPort: number; prefix: string }, over: Over = {}): Record<string, unknown> {
  return {
    instance: { id: `doctor-${env.prefix}` },
    servers: [
      {
        name: 'pbx1',
        ari: {
          url: env.sim.ariUrl,
          username: 'agentgate',
          password: over.ariPassword ?? 'secret',
          pingIntervalMs: 1000,
          restTimeoutMs: 2000,
        },
        ami: { host: '127.0.0.1', port: env.sim.amiPort, username: 'agentgate', secret: over.amiSecret ?? 'secret', actionTimeoutMs: 1000 },
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: env.httpPort },
    store: { redis: { url: over.redisUrl ?? REDIS_URL, prefix: env.prefix } },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          extensions: ['1001'],
          addresses: over.addresses ?? ['PJSIP/1001', 'PJSIP/1002'],
          flags: { inbound: true },
        },
      ],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: (over.queues ?? ['support', 'sales']).map((id) => ({ id })),
    },
  };
}

/** The daemon running with the good config, as the admin has it in production. */
async function runDaemon(env: { sim: Simulator; httpPort: number; prefix: string }): Promise<void> {
  const daemon = await startDaemon(validateConfig(rawConfig(env)), { logger: silentLogger() });
  cleanups.push(() => daemon.stop());
  await vi.waitFor(async () => expect((await fetch(`${daemon.httpUrl}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 50 });
}

async function doctor(env: { sim: Simulator; httpPort: number; prefix: string }, over: Over = {}): Promise<Check[]> {
  return runDoctor(validateConfig(rawConfig(env, over)), { timeoutMs: 1000 });
}

const fails = (checks: Check[]): string[] => checks.filter((c) => c.status === 'FAIL').map((c) => c.subject);
const line = (checks: Check[], subject: string): Check => {
  const c = checks.find((x) => x.subject === subject);
  if (!c) throw new Error(`no check '${subject}' in:\n${checks.map(formatCheck).join('\n')}`);
  return c;
};

describe('agentgate doctor', () => {
  it('everything working (agentgate running): exit 0, one line per check, the app held by the running agentgate', async () => {
    const env = await setUp();
    await runDaemon(env);
    const f = writeConfigFile(rawConfig(env));
    cleanups.push(f.remove);
    const io = captureOutput();
    expect(await main(['doctor', '-c', f.file])).toBe(0);
    const out = io.out();
    expect(out).not.toMatch(/^FAIL/m);
    expect(out).toMatch(/^ok {4}agentgate: running at http:\/\/127\.0\.0\.1:\d+ and ready$/m);
    expect(out).toMatch(/^ok {4}ari pbx1: .*user 'agentgate' accepted; Asterisk 22\.7\.0$/m);
    expect(out).toMatch(/^ok {4}asterisk pbx1: 22\.7\.0: PJSIP_TRANSFER_HANDLING\(\) available/m);
    expect(out).toMatch(/^ok {4}app agentgate on pbx1: registered, held by the agentgate at/m);
    expect(out).toMatch(/^ok {4}ami pbx1: .*logged in as 'agentgate'/m);
    expect(out).toMatch(/^ok {4}ami pbx1 write agent:/m);
    expect(out).toMatch(/^ok {4}ami pbx1 read user: UserEvents received/m);
    expect(out).toMatch(/^ok {4}queue support: exists on pbx1$/m);
    expect(out).toMatch(/^ok {4}queue sales: exists on pbx1$/m);
    expect(out).toMatch(/^ok {4}address PJSIP\/1001 \(alice\): pbx1: online$/m);
    expect(out).toMatch(/^ok {4}extension 1001 \(PJSIP\/1001\): exists on pbx1$/m);
    expect(out).toMatch(/^ok {4}redis: redis:\/\/127\.0\.0\.1:6379\/? answers PING/m);
    expect(out).toContain('everything agentgate needs works');
    expect(out).not.toContain('secret'); // no password or secret is ever printed
    // The probes changed nothing: no member added anywhere, the daemon still ready.
    expect(env.sim.queues.members().some((m) => m.interface.includes('doctor'))).toBe(false);
  });

  it('wrong ARI password: FAIL naming servers[0].ari.password; exit 1', async () => {
    const env = await setUp();
    const f = writeConfigFile(rawConfig(env, { ariPassword: 'not-the-password' }));
    cleanups.push(f.remove);
    const io = captureOutput();
    expect(await main(['doctor', '-c', f.file])).toBe(1);
    expect(io.out()).toMatch(
      /^FAIL {2}ari pbx1: http:\/\/127\.0\.0\.1:\d+ refused user 'agentgate' with this password \(401\)\n {6}fix: servers\[0\]\.ari\.username \/ servers\[0\]\.ari\.password must match a user in ari\.conf$/m,
    );
    expect(io.out()).not.toContain('not-the-password');
    vi.restoreAllMocks();
    expect(fails(await doctor(env, { ariPassword: 'not-the-password' }))).toEqual(['ari pbx1']);
  });

  it('the app not registered while agentgate runs (its websocket cut): FAIL for the app and the daemon', async () => {
    const env = await setUp();
    await runDaemon(env);
    env.sim.faults.dropAriWebsockets(60_000);
    await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${env.httpPort}/readyz`)).status).toBe(503), {
      timeout: 5000,
      interval: 50,
    });
    const checks = await doctor(env);
    expect(fails(checks).sort()).toEqual(['agentgate', 'app agentgate on pbx1']);
    expect(line(checks, 'app agentgate on pbx1').text).toMatch(
      /^not registered, and the agentgate at http:\/\/127\.0\.0\.1:\d+: ARI websocket to .* is down/,
    );
  });

  it('the app taken by another websocket (ApplicationReplaced): FAIL saying the running agentgate lost it', async () => {
    const env = await setUp();
    await runDaemon(env);
    const thief = new WebSocket(`${env.sim.ariUrl.replace('http', 'ws')}/ari/events?app=agentgate&api_key=agentgate:secret`);
    cleanups.push(() => thief.terminate());
    await new Promise((r) => thief.once('open', r));
    await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${env.httpPort}/readyz`)).status).toBe(503), {
      timeout: 5000,
      interval: 50,
    });
    const checks = await doctor(env);
    expect(fails(checks)).toContain('app agentgate on pbx1');
    expect(line(checks, 'app agentgate on pbx1').text).toMatch(
      /^registered in Asterisk, but not by the agentgate at .*taken over by another websocket .*ApplicationReplaced/,
    );
  });

  it('the app not registered and no agentgate running: a warning, not a failure (it registers at start)', async () => {
    const env = await setUp();
    const checks = await doctor(env);
    expect(fails(checks)).toEqual([]);
    expect(line(checks, 'app agentgate on pbx1')).toMatchObject({
      status: 'warn',
      text: expect.stringMatching(/^not registered: no agentgate runs/) as unknown,
    });
    expect(line(checks, 'agentgate').status).toBe('info');
  });

  it('an Asterisk older than 22.3 (no PJSIP_TRANSFER_HANDLING): a warning that phone transfers bypass the flags, not a failure', async () => {
    const env = await setUp();
    const info = { system: { version: '22.2.0', entity_id: '02:fc:00:00:00:01' } };
    env.sim.faults.answerRawRest(/GET \/asterisk\/info/, 200, JSON.stringify(info));
    const checks = await doctor(env);
    expect(line(checks, 'asterisk pbx1')).toMatchObject({ status: 'warn' });
    expect(formatCheck(line(checks, 'asterisk pbx1'))).toMatch(
      /22\.2\.0: no PJSIP_TRANSFER_HANDLING\(\).*Transfer button is carried out by Asterisk/,
    );
    expect(fails(checks)).not.toContain('asterisk pbx1');
  });

  it('wrong AMI secret: FAIL naming servers[0].ami.secret', async () => {
    const env = await setUp();
    const checks = await doctor(env, { amiSecret: 'nope' });
    expect(fails(checks)).toEqual(['ami pbx1']);
    expect(line(checks, 'ami pbx1')).toMatchObject({
      text: "login as 'agentgate' refused: Authentication failed",
      fix: expect.stringContaining('servers[0].ami.secret') as unknown,
    });
  });

  it('AMI user without read class user: FAIL, the test UserEvent never came back (feature codes would be lost)', async () => {
    const env = await setUp({
      amiUsers: [
        { username: 'agentgate', secret: 'secret', read: ['system', 'call', 'agent'], write: ['system', 'call', 'agent', 'user'] },
      ],
    });
    const checks = await doctor(env);
    expect(fails(checks)).toEqual(['ami pbx1 read user']);
    expect(line(checks, 'ami pbx1 read user').fix).toBe('manager.conf [agentgate] read = agent,user');
  });

  it('AMI user without write class agent: FAIL, queue actions are "Permission denied"', async () => {
    const env = await setUp({ amiUsers: [{ username: 'agentgate', secret: 'secret', write: ['user'] }] });
    const checks = await doctor(env);
    expect(fails(checks)).toEqual(['ami pbx1 write agent']);
    expect(line(checks, 'ami pbx1 write agent').text).toContain('Permission denied');
  });

  it('an address whose endpoint does not exist: FAIL naming the address and its user; an offline one is a warning', async () => {
    const env = await setUp();
    const checks = await doctor(env, { addresses: ['PJSIP/1001', 'PJSIP/1999', 'PJSIP/1004', 'Local/5551234@trunk-out'] });
    expect(fails(checks)).toEqual(['address PJSIP/1999 (alice)']);
    expect(line(checks, 'address PJSIP/1004 (alice)')).toMatchObject({
      status: 'warn',
      text: expect.stringContaining('offline') as unknown,
    });
    expect(line(checks, 'address Local/5551234@trunk-out (alice)').status).toBe('info');
  });

  it('a queue Asterisk does not have: FAIL naming it and the queues it has', async () => {
    const env = await setUp();
    const checks = await doctor(env, { queues: ['support', 'billing'] });
    expect(fails(checks)).toEqual(['queue billing']);
    expect(line(checks, 'queue billing').text).toContain('QueueStatus lists: support, sales');
  });

  it('Redis down: FAIL naming the URL', async () => {
    const env = await setUp();
    const port = await freePort();
    const checks = await doctor(env, { redisUrl: `redis://:hunter2@127.0.0.1:${port}` });
    expect(fails(checks)).toEqual(['redis']);
    expect(line(checks, 'redis').text).toMatch(new RegExp(`^redis://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED`));
    expect(line(checks, 'redis').text).not.toContain('hunter2');
  });
});

describe('doctor helpers', () => {
  it.each([
    ['22.7.0', true],
    ['22.3.0', true],
    ['22.2.0', false],
    ['21.8.0', true],
    ['21.7.1', false],
    ['20.13.0', true],
    ['20.12.0', false],
    ['23.0.0', true],
    ['18.26.0', false],
    ['certified-20.7-cert3', false],
    ['GIT-master-abc123', undefined],
  ])('PJSIP_TRANSFER_HANDLING on %s: %s', (version, expected) => {
    expect(hasTransferHandling(version)).toBe(expected);
  });

  it.each([
    ['PJSIP/1001', { tech: 'PJSIP', resource: '1001' }],
    ['PJSIP/5551234@trunk', { tech: 'PJSIP', resource: 'trunk' }],
    ['PJSIP/1001/sip:1001@10.0.0.5', { tech: 'PJSIP', resource: '1001' }],
    ['Local/5551234@trunk-out', undefined],
    ['nonsense', undefined],
  ])('endpoint of %s', (dial, expected) => {
    expect(endpointOf(dial)).toEqual(expected);
  });
});
