/**
 * The instance heartbeat on the memory Store with a manual clock: who may take an instance id at
 * start, renewal at half the TTL, and what a renewal failure does.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { instanceLeaseKey, startInstanceHeartbeat, type InstanceHeartbeat } from '../../../src/app/instance-heartbeat.js';
import { silentLogger } from '../../../src/log.js';
import type { Store } from '../../../src/ports/store.js';
import { manualClock, type ManualClock } from '../../support/manual-clock.js';

const TTL = 6000;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(): { clock: ManualClock; store: Store } {
  const clock = manualClock();
  return { clock, store: createMemoryStore({ clock }) };
}

function start(
  clock: ManualClock,
  store: Store,
  over: { host?: string; pid?: number; alive?: number[]; id?: string; idFromHost?: boolean } = {},
): Promise<InstanceHeartbeat> {
  return startInstanceHeartbeat({
    store,
    clock,
    logger: silentLogger(),
    instanceId: over.id ?? 'pbx-host',
    ttlMs: TTL,
    idFromHost: over.idFromHost ?? true,
    host: over.host ?? 'pbx-host',
    pid: over.pid ?? 100,
    processAlive: (pid) => (over.alive ?? []).includes(pid),
  });
}

/** Moves the manual clock in steps while `p` is pending (the start-up wait sleeps on the clock). */
async function settle<T>(clock: ManualClock, p: Promise<T>, stepMs = 500, maxMs = 60_000): Promise<T> {
  let done = false;
  const out = p.finally(() => (done = true));
  out.catch(() => undefined);
  for (let t = 0; t < maxMs && !done; t += stepMs) {
    await flush();
    if (!done) clock.advance(stepMs);
  }
  return out;
}

describe('instance heartbeat (#12.5)', () => {
  it('a daemon restarted on the same host after a crash takes its instance id over at once, not after the TTL', async () => {
    const { clock, store } = setup();
    const crashed = await start(clock, store, { pid: 100 });
    expect((await store.leaseHolder(instanceLeaseKey('pbx-host')))?.holder).toBe(crashed.holder);
    // pid 100 is gone (SIGKILL): nothing was released, the lease is still live.
    const t0 = clock.now();
    const restarted = await start(clock, store, { pid: 200, alive: [] });
    expect(clock.now()).toBe(t0);
    expect((await store.leaseHolder(instanceLeaseKey('pbx-host')))?.holder).toBe(restarted.holder);
    expect(JSON.parse(restarted.holder)).toMatchObject({ host: 'pbx-host', pid: 200 });
  });

  it('a second daemon on the same host with the same (default) id is refused, telling the admin to set instance.id', async () => {
    const { clock, store } = setup();
    const first = await start(clock, store, { pid: 100 });
    const err = await start(clock, store, { pid: 200, alive: [100, 200] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AGENTGATE_ERR_INSTANCE_ID_IN_USE' });
    expect((err as Error).message).toContain('pbx-host');
    expect((err as Error).message).toContain('pid 100');
    expect((err as Error).message).toContain('instance.id is not set');
    expect((await store.leaseHolder(instanceLeaseKey('pbx-host')))?.holder).toBe(first.holder);
  });

  it('an id held from another host: refused while that holder renews, taken within one TTL once it stops', async () => {
    const { clock, store } = setup();
    const key = instanceLeaseKey('shared');
    const otherHolder = JSON.stringify({ host: 'other-host', pid: 100, nonce: 'o' });
    await store.acquireLease(key, otherHolder, TTL);
    let otherAlive = true;
    const renew = (): void => {
      if (!otherAlive) return;
      store.renewLease(key, otherHolder, TTL).catch(() => undefined);
      clock.setTimer(TTL / 2, renew);
    };
    clock.setTimer(TTL / 2, renew);
    const refused = await settle(
      clock,
      start(clock, store, { id: 'shared', idFromHost: false }).catch((e: unknown) => e),
    );
    expect(refused).toMatchObject({ code: 'AGENTGATE_ERR_INSTANCE_ID_IN_USE' });
    expect((refused as Error).message).toContain('host other-host');
    expect((refused as Error).message).not.toContain('instance.id is not set');
    // The other host dies without releasing: its lease runs out and this one takes it.
    otherAlive = false;
    const died = clock.now();
    const mine = await settle(clock, start(clock, store, { id: 'shared', idFromHost: false }));
    expect(clock.now() - died).toBeLessThanOrEqual(TTL + TTL / 4 + 500);
    expect((await store.leaseHolder(key))?.holder).toBe(mine.holder);
  });

  it('is renewed at half its TTL, so it never expires while the process lives', async () => {
    const { clock, store } = setup();
    const hb = await start(clock, store);
    for (let i = 0; i < 20; i++) {
      clock.advance(TTL / 2);
      await flush();
      expect(hb.alive()).toBe(true);
      expect(await store.leaseHolder(instanceLeaseKey('pbx-host'))).not.toBeNull();
    }
    await hb.stop();
    expect(await store.leaseHolder(instanceLeaseKey('pbx-host'))).toBeNull();
  });

  it('a lease that vanished (Store restarted empty) is taken again; a Store error is reported and retried', async () => {
    const { clock, store } = setup();
    const hb = await start(clock, store);
    const events: string[] = [];
    hb.on('retaken', () => events.push('retaken'));
    hb.on('renewal-failed', () => events.push('renewal-failed'));
    await store.releaseLease(instanceLeaseKey('pbx-host'), hb.holder);
    clock.advance(TTL / 2);
    await flush();
    expect(events).toEqual(['retaken']);
    expect((await store.leaseHolder(instanceLeaseKey('pbx-host')))?.holder).toBe(hb.holder);

    const renew = store.renewLease.bind(store);
    store.renewLease = () => Promise.reject(new Error('Redis down'));
    clock.advance(TTL / 2);
    await flush();
    expect(events).toContain('renewal-failed');
    store.renewLease = renew;
    clock.advance(TTL / 6);
    await flush();
    expect(hb.alive()).toBe(true);
  });

  it('a renewal finding the id held by another process reports a conflict and stops renewing', async () => {
    const { clock, store } = setup();
    const hb = await start(clock, store);
    const conflicts: unknown[] = [];
    hb.on('conflict', (err) => conflicts.push(err));
    await store.releaseLease(instanceLeaseKey('pbx-host'), hb.holder);
    await store.acquireLease(instanceLeaseKey('pbx-host'), JSON.stringify({ host: 'pbx-host', pid: 999, nonce: 'x' }), TTL);
    clock.advance(TTL / 2);
    await flush();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ code: 'AGENTGATE_ERR_INSTANCE_ID_IN_USE' });
    expect(hb.alive()).toBe(false);
  });
});
