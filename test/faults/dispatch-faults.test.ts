/**
 * Fault suite, dispatch half (#12): the daemon as a real process (`agentgate run -c <file>`) against
 * the simulator and a redis-server this test owns (own loopback port, stopped and restarted empty).
 * Every call must end right and nothing may stay orphaned beyond 15 s:
 * - the daemon SIGKILLed mid-ring with the DEFAULT config (no instance id) and started again;
 * - two instances sharing Redis, one SIGKILLed with a ringing and a talking call;
 * - Redis stopped and restarted EMPTY during dispatches.
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/index.js';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { defaultInstanceId } from '../../src/config/load.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';
import { ALICE, scripts, until } from '../support/dispatch-harness.js';
import { startDaemonProcess, writeConfigFile, type DaemonProcess } from '../support/daemon-process.js';
import { OwnRedis } from '../support/redis-server.js';
import { freePort } from '../support/free-port.js';
import { readyzBecomes } from '../support/fault-rig.js';

const ORPHAN_LIMIT_MS = 15_000;
const BOB = { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent', addresses: ['PJSIP/2004'], flags: { inbound: true } };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

async function setup(): Promise<{ sim: Simulator; redis: OwnRedis; store: Store }> {
  const redis = await OwnRedis.start();
  cleanups.push(() => redis.destroy());
  const sim = await Simulator.start();
  cleanups.push(() => sim.stop());
  // The test's own view of the daemon's Store (same Redis, same prefix).
  const store = await createRedisStore({ url: redis.url, prefix: 'fault', clock: systemClock() });
  cleanups.push(() => store.close());
  return { sim, redis, store };
}

function daemon(sim: Simulator, redis: OwnRedis, over: { instance?: string; app?: string; httpPort?: number } = {}): DaemonProcess {
  const { file, remove } = writeConfigFile({
    ...(over.instance === undefined ? {} : { instance: { id: over.instance } }),
    log: { level: 'warn' },
    servers: [
      {
        name: 'pbx1',
        ari: {
          url: sim.ariUrl,
          username: 'agentgate',
          password: 'secret',
          app: over.app ?? 'agentgate',
          pingIntervalMs: 1000,
          restTimeoutMs: 2000,
        },
      },
    ],
    store: { redis: { url: redis.url, prefix: 'fault' } },
    http: over.httpPort === undefined ? { enabled: false } : { enabled: true, host: '127.0.0.1', port: over.httpPort },
    dispatch: { answer: 'late', ringTimeoutSec: 120 },
    directory: { users: [ALICE, BOB], extensions: [{ id: '1001', interface: 'PJSIP/1001' }] },
  });
  const d = startDaemonProcess(file);
  cleanups.push(() => {
    if (d.alive()) d.child.kill('SIGKILL');
    remove();
  });
  return d;
}

const ringing = (sim: Simulator, prefix = 'PJSIP/200'): number =>
  sim.pbx.channels().filter((c) => c.state === 'Ringing' && c.name.startsWith(prefix)).length;
const talkingWith = (sim: Simulator, endpoint: string): boolean =>
  sim.pbx.bridges().some(
    (b) =>
      b.channels.length === 2 &&
      b.channels.some((id) =>
        sim.pbx
          .channels()
          .find((c) => c.id === id)
          ?.name.startsWith(`${endpoint}-`),
      ),
  );

async function connected(sim: Simulator, d: DaemonProcess, app = 'agentgate'): Promise<void> {
  await until(
    () => sim.pbx.heldApps.has(app),
    20_000,
    () => `the daemon to hold ARI app ${app}:\n${d.output()}`,
  );
}

async function sigkill(d: DaemonProcess): Promise<number> {
  d.child.kill('SIGKILL');
  expect(await d.exited()).toBe('SIGKILL');
  return Date.now();
}

async function cleanStop(d: DaemonProcess): Promise<void> {
  expect(d.alive()).toBe(true); // nothing crashed it
  d.child.kill('SIGTERM');
  await d.exited();
  expect(d.child.exitCode, d.output()).toBe(0);
}

describe('faults: dispatch', () => {
  it('daemon SIGKILLed mid-ring with the DEFAULT config (no instance id), started again: within 15 s the legs are hung up, the caller continued, no record left, and the agent rings for the next call', async () => {
    const { sim, redis, store } = await setup();
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const first = daemon(sim, redis);
    await connected(sim, first);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'three legs ringing');
    const killedAt = await sigkill(first);

    const second = daemon(sim, redis);
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    await until(() => sim.pbx.channels().length === 0, ORPHAN_LIMIT_MS, 'every leg hung up');
    await until(
      async () => (await store.listDispatches()).length === 0 && (await store.leaseHolder('agent:alice')) === null,
      ORPHAN_LIMIT_MS,
      'record and claim gone',
    );
    expect(Date.now() - killedAt).toBeLessThan(ORPHAN_LIMIT_MS);
    // The restarted process is the same instance (host name), holding its heartbeat.
    const hb = await store.leaseHolder(`instance:${defaultInstanceId(hostname())}`);
    expect(JSON.parse(hb!.holder)).toMatchObject({ pid: second.child.pid });

    const next = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice rung again for the next call');
    await next.hangup();
    await until(() => sim.pbx.channels().length === 0, 5000, 'next call cleaned up');
    await cleanStop(second);
  }, 60_000);

  it('a second daemon on the same host with the default instance id is refused with a clear error telling the admin to set instance.id; the first goes on', async () => {
    const { sim, redis } = await setup();
    const first = daemon(sim, redis);
    await connected(sim, first);
    const second = daemon(sim, redis);
    await second.exited();
    expect(second.child.exitCode).toBe(1);
    expect(second.output()).toContain('AGENTGATE_ERR_INSTANCE_ID_IN_USE');
    expect(second.output()).toContain(`pid ${first.child.pid}`);
    expect(second.output()).toContain('give each daemon its own instance.id');
    expect(second.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => talkingWith(sim, 'PJSIP/2001'), 5000, 'the first daemon still dispatches');
    await call.hangup();
    await cleanStop(first);
  }, 60_000);

  it('two instances share Redis, one is SIGKILLed with a ringing and a talking call: the other adopts within 15 s — the ringing call ends NOANSWER, the conversation goes on and is cleaned up when it ends', async () => {
    const { sim, redis, store } = await setup();
    scripts(sim, {
      'PJSIP/2001': { kind: 'ring' },
      'PJSIP/2002': { kind: 'ring' },
      'PJSIP/2003': { kind: 'ring' },
      'PJSIP/2004': { kind: 'answer', afterMs: 20 },
    });
    // One Asterisk gives an ARI app to one websocket at a time: each instance has its own app.
    const a = daemon(sim, redis, { instance: 'inst-a', app: 'agentgate-a' });
    const b = daemon(sim, redis, { instance: 'inst-b', app: 'agentgate-b' });
    await connected(sim, a, 'agentgate-a');
    await connected(sim, b, 'agentgate-b');
    const bobCall = await sim.dialIn({ app: 'agentgate-a', args: ['dispatch', 'bob'] });
    await until(() => talkingWith(sim, 'PJSIP/2004'), 5000, 'bob talking');
    await until(
      async () => (await store.listDispatches()).some((d) => d.agentId === 'bob' && d.data?.talking === true),
      5000,
      'bob recorded as talking',
    );
    const aliceCall = await sim.dialIn({ app: 'agentgate-a', args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice ringing');
    const killedAt = await sigkill(a);

    const ended = await aliceCall.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    await until(() => ringing(sim) === 0, ORPHAN_LIMIT_MS, "alice's legs hung up");
    await until(async () => (await store.leaseHolder('agent:alice')) === null, ORPHAN_LIMIT_MS, 'alice free');
    await until(
      async () => (await store.listDispatches()).every((d) => d.owner === 'inst-b'),
      ORPHAN_LIMIT_MS,
      "bob's call adopted by inst-b",
    );
    expect(Date.now() - killedAt).toBeLessThan(ORPHAN_LIMIT_MS);
    // The conversation was not cut, and bob stays claimed (not offered a second call).
    expect(talkingWith(sim, 'PJSIP/2004')).toBe(true);
    const second = await sim.dialIn({ app: 'agentgate-b', args: ['dispatch', 'bob'] });
    expect((await second.ended()).variables.AGENTGATE_RESULT).toBe('NOAGENT');

    const next = await sim.dialIn({ app: 'agentgate-b', args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice rung again through inst-b');
    await next.hangup();

    await bobCall.hangup();
    await until(() => sim.pbx.channels().length === 0, 5000, "bob's phone hung up after the caller");
    await until(
      async () => (await store.listDispatches()).length === 0 && (await store.leaseHolder('agent:bob')) === null,
      5000,
      "bob's record and claim gone",
    );
    await cleanStop(b);
  }, 60_000);

  it('Redis stopped and restarted EMPTY during dispatches: nothing crashes, every call ends right, no orphan beyond 15 s, claims and records come back, and /readyz is 503 naming the store while it is down and 200 after', async () => {
    const { sim, redis, store } = await setup();
    scripts(sim, {
      'PJSIP/2001': { kind: 'ring' },
      'PJSIP/2002': { kind: 'ring' },
      'PJSIP/2003': { kind: 'ring' },
      'PJSIP/2004': { kind: 'answer', afterMs: 20 },
    });
    const httpPort = await freePort();
    const url = `http://127.0.0.1:${httpPort}`;
    const d = daemon(sim, redis, { httpPort });
    await connected(sim, d);
    await readyzBecomes(url, 200, [], 10_000);
    const bobCall = await sim.dialIn({ args: ['dispatch', 'bob'] });
    await until(() => talkingWith(sim, 'PJSIP/2004'), 5000, 'bob talking');
    const aliceCall = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice ringing');
    const bobRecord = (await store.listDispatches()).find((r) => r.agentId === 'bob')!;

    await redis.stop();
    const downAt = Date.now();
    // Readiness tells the truth: the Store is down (ARI is not).
    await readyzBecomes(url, 503, ['store'], 5000);
    // While Redis is down: the ringing caller hangs up → its legs are hung up all the same.
    await aliceCall.hangup();
    await until(() => ringing(sim) === 0, 5000, "alice's legs hung up without Redis");
    // A new call cannot claim its agent: it goes on at once (NOAGENT), never waits in Stasis.
    const during = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const duringEnd = await during.ended();
    expect(duringEnd).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
    expect(Date.now() - downAt).toBeLessThan(ORPHAN_LIMIT_MS);
    await readyzBecomes(url, 503, ['store'], 1000); // still down

    await redis.resume(); // empty
    const upAt = Date.now();
    await readyzBecomes(url, 200, [], ORPHAN_LIMIT_MS);
    // The talking call's claim and record are written again; the heartbeat is back.
    await until(
      async () => (await store.leaseHolder('agent:bob'))?.holder === bobRecord.id,
      ORPHAN_LIMIT_MS,
      () => `bob's claim back:\n${d.output()}`,
    );
    await until(async () => (await store.listDispatches()).some((r) => r.id === bobRecord.id), ORPHAN_LIMIT_MS, "bob's record back");
    expect(await store.leaseHolder(`instance:${defaultInstanceId(hostname())}`)).not.toBeNull();
    expect(Date.now() - upAt).toBeLessThan(ORPHAN_LIMIT_MS);
    expect(talkingWith(sim, 'PJSIP/2004')).toBe(true);

    // Dispatch works again: alice rings, and bob is still not offered a second call.
    const next = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice rung after Redis came back');
    await next.hangup();
    const bobAgain = await sim.dialIn({ args: ['dispatch', 'bob'] });
    expect((await bobAgain.ended()).variables.AGENTGATE_RESULT).toBe('NOAGENT');

    await bobCall.hangup();
    await until(() => sim.pbx.channels().length === 0, 5000, 'every channel gone');
    await until(
      async () =>
        (await store.listDispatches()).length === 0 &&
        (await store.leaseHolder('agent:bob')) === null &&
        (await store.leaseHolder('agent:alice')) === null,
      5000,
      'no record or claim left',
    );
    await cleanStop(d);
  }, 60_000);
});
