/**
 * The one Store contract: test/store/memory.test.ts and redis.test.ts run it against each Store.
 * `sleep(ms)` lets time pass the way the Store sees it (a manual clock for memory, real time for
 * Redis, whose leases expire on Redis's own clock).
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { Store, AuditEntryInput } from '../../src/ports/store.js';

export interface StoreHarness {
  store: Store;
  /** Let ms pass for the Store (leases and once keys expire). */
  sleep(ms: number): Promise<void>;
  /** Current time as the Store's clock sees it (for audit `at`). */
  now(): number;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, make: (opts: { auditMaxLength: number }) => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let s: Store;
    beforeEach(async () => {
      h = await make({ auditMaxLength: 50 });
      s = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describe('leases (agent claims, ARI app holder, first answer wins)', () => {
      it('a free lease is taken; another holder is refused and told who holds it', async () => {
        const a = await s.acquireLease('agent:alice', 'call-1', 5000);
        expect(a.ok).toBe(true);
        const b = await s.acquireLease('agent:alice', 'call-2', 5000);
        expect(b).toMatchObject({ ok: false, holder: 'call-1' });
        expect((await s.leaseHolder('agent:alice'))?.holder).toBe('call-1');
      });

      it('the same holder re-acquiring renews and keeps its fencing token', async () => {
        const a = await s.acquireLease('k', 'x', 5000);
        const again = await s.acquireLease('k', 'x', 5000);
        expect(a.ok && again.ok && again.token === a.token).toBe(true);
      });

      it('release frees the lease only for its holder, never for someone else', async () => {
        await s.acquireLease('k', 'x', 5000);
        expect(await s.releaseLease('k', 'y')).toBe(false);
        expect((await s.leaseHolder('k'))?.holder).toBe('x');
        expect(await s.releaseLease('k', 'x')).toBe(true);
        expect(await s.leaseHolder('k')).toBeNull();
        expect((await s.acquireLease('k', 'y', 5000)).ok).toBe(true);
      });

      it('fencing tokens grow strictly per key, across releases', async () => {
        const tokens: number[] = [];
        for (const holder of ['a', 'b', 'c']) {
          const r = await s.acquireLease('fence', holder, 5000);
          if (!r.ok) throw new Error('not acquired');
          tokens.push(r.token);
          await s.releaseLease('fence', holder);
        }
        expect(tokens[1]!).toBeGreaterThan(tokens[0]!);
        expect(tokens[2]!).toBeGreaterThan(tokens[1]!);
      });

      it('an expired lease can be taken by another holder, with a larger token', async () => {
        const a = await s.acquireLease('exp', 'x', 100);
        await h.sleep(250);
        expect(await s.leaseHolder('exp')).toBeNull();
        expect(await s.renewLease('exp', 'x', 100)).toBe(false);
        const b = await s.acquireLease('exp', 'y', 5000);
        expect(b.ok).toBe(true);
        if (a.ok && b.ok) expect(b.token).toBeGreaterThan(a.token);
      });

      it('renew keeps a lease alive past its first ttl', async () => {
        await s.acquireLease('ren', 'x', 200);
        await h.sleep(120);
        expect(await s.renewLease('ren', 'x', 400)).toBe(true);
        await h.sleep(150);
        expect((await s.leaseHolder('ren'))?.holder).toBe('x');
        expect(await s.renewLease('ren', 'y', 400)).toBe(false);
      });

      it('many holders racing for one lease: exactly one wins', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.acquireLease('race', `h${i}`, 5000)));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
      });
    });

    describe('once (dialplan UserEvents handled once across instances)', () => {
      it('is true the first time only, under concurrency', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => s.once('uniqueid-1700000000.42', 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await s.once('uniqueid-1700000000.43', 60_000)).toBe(true);
      });

      it('is true again after its ttl', async () => {
        expect(await s.once('u', 100)).toBe(true);
        await h.sleep(250);
        expect(await s.once('u', 100)).toBe(true);
      });
    });

    describe('dispatch records', () => {
      it('are listed by owner and by server, and deleted', async () => {
        const base = { agentId: 'alice', callerChannelId: 'c1', legChannelIds: ['l1', 'l2'], startedAt: 1 };
        await s.putDispatch({ ...base, id: 'd1', owner: 'i1', server: 'pbx1' });
        await s.putDispatch({ ...base, id: 'd2', owner: 'i2', server: 'pbx1', bridgeId: 'b1', data: { state: 'ringing' } });
        await s.putDispatch({ ...base, id: 'd3', owner: 'i1', server: 'pbx2' });
        expect((await s.listDispatches({ owner: 'i1' })).map((d) => d.id).sort()).toEqual(['d1', 'd3']);
        expect((await s.listDispatches({ server: 'pbx1' })).map((d) => d.id).sort()).toEqual(['d1', 'd2']);
        const d2 = (await s.listDispatches({ owner: 'i2' }))[0];
        expect(d2).toEqual({ ...base, id: 'd2', owner: 'i2', server: 'pbx1', bridgeId: 'b1', data: { state: 'ringing' } });
        await s.deleteDispatch('d1');
        expect((await s.listDispatches()).map((d) => d.id).sort()).toEqual(['d2', 'd3']);
      });
    });

    describe('adopting the dispatches of a dead instance', () => {
      const base = { agentId: 'alice', callerChannelId: 'c1', legChannelIds: ['l1', 'l2'], startedAt: 1_700_000_000_123 };

      it("moves only the dead owner's records on that server to the adopter, intact", async () => {
        await s.putDispatch({ ...base, id: 'd1', owner: 'dead', server: 'pbx1', bridgeId: 'b1', data: { talking: true, winner: 'l2' } });
        await s.putDispatch({ ...base, id: 'd2', owner: 'dead', server: 'pbx2' });
        await s.putDispatch({ ...base, id: 'd3', owner: 'alive', server: 'pbx1', legChannelIds: [] });
        const moved = await s.adoptDispatches({ from: 'dead', to: 'me', server: 'pbx1', unlessLeaseHeld: 'instance:dead' });
        expect(moved).toEqual([{ ...base, id: 'd1', owner: 'me', server: 'pbx1', bridgeId: 'b1', data: { talking: true, winner: 'l2' } }]);
        expect((await s.listDispatches({ owner: 'me' })).map((d) => d.id)).toEqual(['d1']);
        expect((await s.listDispatches({ owner: 'dead' })).map((d) => d.id)).toEqual(['d2']);
        expect((await s.listDispatches({ owner: 'alive' }))[0]).toEqual({
          ...base,
          id: 'd3',
          owner: 'alive',
          server: 'pbx1',
          legChannelIds: [],
        });
        expect(await s.adoptDispatches({ from: 'dead', to: 'me', server: 'pbx1', unlessLeaseHeld: 'instance:dead' })).toEqual([]);
      });

      it("moves nothing while the owner's heartbeat lease is held", async () => {
        await s.putDispatch({ ...base, id: 'd1', owner: 'i1', server: 'pbx1' });
        await s.acquireLease('instance:i1', 'i1-process', 5000);
        expect(await s.adoptDispatches({ from: 'i1', to: 'me', server: 'pbx1', unlessLeaseHeld: 'instance:i1' })).toEqual([]);
        expect((await s.listDispatches({ owner: 'i1' })).map((d) => d.id)).toEqual(['d1']);
      });

      it('several adopters at once: every record is moved exactly once', async () => {
        for (let i = 0; i < 10; i++) await s.putDispatch({ ...base, id: `d${i}`, owner: 'dead', server: 'pbx1' });
        const results = await Promise.all(
          ['a', 'b', 'c'].map((to) => s.adoptDispatches({ from: 'dead', to, server: 'pbx1', unlessLeaseHeld: 'instance:dead' })),
        );
        const ids = results.flat().map((d) => d.id);
        expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}`).sort());
        const owners = new Map((await s.listDispatches()).map((d) => [d.id, d.owner]));
        results.forEach((moved, i) => moved.forEach((d) => expect(owners.get(d.id)).toBe(['a', 'b', 'c'][i])));
      });
    });

    describe('audit', () => {
      let base = 0;
      beforeEach(() => {
        base = h.now();
      });
      const entry = (i: number, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
        kind: 'queue-op',
        at: base + i,
        actor: i % 2 === 0 ? 'sam' : 'alice',
        action: i % 3 === 0 ? 'login' : 'pause',
        extension: String(1000 + (i % 4)),
        queue: i % 5 === 0 ? 'sales' : 'support',
        result: i % 7 === 0 ? 'denied' : 'ok',
        detail: { i },
        ...over,
      });

      it('answers newest first, filtered by every field, with a limit', async () => {
        for (let i = 0; i < 30; i++) await s.appendAudit(entry(i));
        const all = await s.queryAudit({ limit: 100 });
        expect(all.map((e) => e.detail.i)).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
        expect((await s.queryAudit({ actor: 'sam' })).every((e) => e.actor === 'sam')).toBe(true);
        expect((await s.queryAudit({ actor: 'sam' })).length).toBe(15);
        expect((await s.queryAudit({ action: 'login', queue: 'sales' })).map((e) => e.detail.i)).toEqual([15, 0]);
        expect((await s.queryAudit({ extension: '1001' })).length).toBe(8);
        expect((await s.queryAudit({ result: 'denied' })).map((e) => e.detail.i)).toEqual([28, 21, 14, 7, 0]);
        expect((await s.queryAudit({ kind: 'dispatch' })).length).toBe(0);
        expect((await s.queryAudit({ limit: 3 })).map((e) => e.detail.i)).toEqual([29, 28, 27]);
        const t0 = all[all.length - 1]!.at;
        expect((await s.queryAudit({ since: t0 + 10, until: t0 + 12 })).map((e) => e.detail.i)).toEqual([12, 11, 10]);
        expect(new Set(all.map((e) => e.id)).size).toBe(30);
      });

      it("tells one call's story: only that call's entries, newest first, with the other filters and a limit", async () => {
        const story = [
          { call: 'c1', kind: 'dispatch', action: 'answer', result: 'answered' },
          { call: 'c2', kind: 'dispatch', action: 'answer', result: 'answered' },
          { call: 'c1', kind: 'call-action', action: 'hold', result: 'ok' },
          { kind: 'queue-op', action: 'pause', result: 'ok' },
          { call: 'c1', kind: 'call-action', action: 'transfer', result: 'denied' },
          { call: 'c2', kind: 'dispatch', action: 'dispatch', result: 'ANSWERED' },
          { call: 'c1', kind: 'dispatch', action: 'dispatch', result: 'ANSWERED' },
        ] as const;
        for (const [i, e] of story.entries()) await s.appendAudit(entry(i, e));
        // An entry written before the field existed names its call only in detail: not found by the filter.
        await s.appendAudit(entry(7, { kind: 'call-action', action: 'hold', detail: { i: 7, call: 'old' } }));
        const c1 = await s.queryAudit({ call: 'c1' });
        expect(c1.map((e) => [e.call, e.action, e.result])).toEqual([
          ['c1', 'dispatch', 'ANSWERED'],
          ['c1', 'transfer', 'denied'],
          ['c1', 'hold', 'ok'],
          ['c1', 'answer', 'answered'],
        ]);
        expect(new Set(c1.map((e) => e.id)).size).toBe(4);
        expect((await s.queryAudit({ call: 'c2' })).map((e) => e.detail.i)).toEqual([5, 1]);
        expect((await s.queryAudit({ call: 'c1', kind: 'call-action' })).map((e) => e.detail.i)).toEqual([4, 2]);
        expect((await s.queryAudit({ call: 'c1', limit: 2 })).map((e) => e.detail.i)).toEqual([6, 4]);
        expect(await s.queryAudit({ call: 'old' })).toEqual([]);
        expect(await s.queryAudit({ call: 'nobody' })).toEqual([]);
        expect((await s.queryAudit({ limit: 100 })).length).toBe(8);
      });

      it("a call's entries dropped by the length cap are no longer in its story", async () => {
        for (let i = 0; i < 60; i++) await s.appendAudit(entry(i, { call: i % 2 === 0 ? 'even' : 'odd' }));
        const even = await s.queryAudit({ call: 'even', limit: 1000 });
        expect(even.map((e) => e.detail.i)).toEqual(Array.from({ length: 25 }, (_, k) => 58 - 2 * k));
      });

      it('keeps at most its length cap, dropping the oldest', async () => {
        for (let i = 0; i < 60; i++) await s.appendAudit(entry(i, { actor: 'x', result: 'ok' }));
        const kept = await s.queryAudit({ limit: 1000 });
        expect(kept.length).toBe(50);
        expect(kept[0]!.detail.i).toBe(59);
        expect(kept[49]!.detail.i).toBe(10);
      });
    });

    describe('tokens', () => {
      it('are stored by hash, listed per user, and revoked', async () => {
        await s.putToken('h1', { userId: 'sam', label: 'ui', createdAt: 1 });
        await s.putToken('h2', { userId: 'alice', label: 'cli', createdAt: 2 });
        expect(await s.getToken('h1')).toEqual({ userId: 'sam', label: 'ui', createdAt: 1 });
        expect((await s.listTokens('alice')).map((t) => t.tokenHash)).toEqual(['h2']);
        expect(await s.revokeToken('h1')).toBe(true);
        expect(await s.getToken('h1')).toBeNull();
        expect(await s.revokeToken('h1')).toBe(false);
      });
    });

    describe('policy (versioned, compare-and-set)', () => {
      it('stores version 1 from 0, refuses a stale version and reports the current one', async () => {
        expect(await s.getPolicy()).toBeNull();
        expect(await s.putPolicy(0, { users: [] })).toEqual({ ok: true, version: 1 });
        expect(await s.putPolicy(0, { users: ['stale'] })).toEqual({ ok: false, version: 1 });
        expect(await s.putPolicy(1, { users: ['new'] })).toEqual({ ok: true, version: 2 });
        expect(await s.getPolicy()).toEqual({ version: 2, doc: { users: ['new'] } });
      });

      it('two writers from the same version: exactly one wins', async () => {
        await s.putPolicy(0, { v: 0 });
        const r = await Promise.all([s.putPolicy(1, { w: 'a' }), s.putPolicy(1, { w: 'b' })]);
        expect(r.filter((x) => x.ok)).toHaveLength(1);
      });

      it('restore writes a version only into an empty Store (Redis restarted empty); a later put goes on from it', async () => {
        expect(await s.restorePolicy(7, { v: 7 })).toEqual({ ok: true, version: 7 });
        expect(await s.restorePolicy(3, { v: 3 })).toEqual({ ok: false, version: 7 });
        expect(await s.getPolicy()).toEqual({ version: 7, doc: { v: 7 } });
        expect(await s.putPolicy(7, { v: 8 })).toEqual({ ok: true, version: 8 });
      });
    });
  });
}
