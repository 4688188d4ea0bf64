/**
 * Fault suite, queue half (#12): `agentgate run` as a real process, driven over HTTP with config
 * tokens, against the simulator and a redis-server this test stops and restarts EMPTY while queue
 * operations run. An operation is either refused before AMI (503 AGENTGATE_ERR_STORE, nothing sent)
 * or, once Asterisk confirmed it, reported done; nothing is lost or applied twice; audit records
 * written during the outage show up in GET /v1/audit once Redis is back; /readyz says so throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/dispatch-harness.js';
import {
  api,
  cleanStop,
  Cleanups,
  queueActions,
  readyz,
  readyzBecomes,
  startFaultDaemon,
  startRig,
  TOKENS,
  type ApiAnswer,
} from '../support/fault-rig.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

interface AuditRow {
  at: number;
  detail: Record<string, unknown>;
  actor?: string;
  action?: string;
  extension?: string;
  result: string;
}

/** GET /v1/audit as sam (a supervisor sees everyone's records), oldest first. */
async function auditRows(url: string, query = 'kind=queue-op&limit=1000'): Promise<AuditRow[]> {
  const r = await api(url, 'GET', `/v1/audit?${query}`, { token: TOKENS.sam });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.entries as AuditRow[]).slice().reverse();
}

const row = (e: AuditRow): string => `${e.actor} ${e.action} ${e.extension} ${e.result}`;

describe('faults: Redis stopped and restarted empty during queue operations', () => {
  it('while Redis is down every operation answers 503 AGENTGATE_ERR_STORE and nothing reaches AMI; one Asterisk confirmed as Redis went is reported done; a feature code is refused cleanly; config tokens keep working; /readyz names the store; once Redis is back the buffered audit records appear in GET /v1/audit and operations work again', async () => {
    const rig = await startRig(cleanups);
    const { sim, redis } = rig;
    const d = await startFaultDaemon(rig);
    await readyzBecomes(d.url, 200, [], 10_000);

    const login = await api(d.url, 'POST', '/v1/queue/login', { token: TOKENS.sam, body: { extension: '1001', queue: 'support' } });
    expect(login, JSON.stringify(login.body)).toMatchObject({ status: 200, body: { ok: true, action: 'login' } });
    expect(login.body.auditId).toEqual(expect.any(String));

    // Asterisk is slow to answer a pause, and Redis goes away meanwhile: Asterisk confirms it, so it is
    // done (200, the member is paused); its audit record waits in the buffer (no auditId yet).
    sim.ami.delayAction('QueuePause', 800);
    const pausing = api(d.url, 'POST', '/v1/queue/pause', {
      token: TOKENS.sam,
      body: { extension: '1001', queue: 'support', reason: 'lunch' },
    });
    await until(() => queueActions(sim).some((a) => a.action === 'QueuePause'), 5000, 'QueuePause sent to Asterisk');
    await redis.stop();
    const paused = await pausing;
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body).toMatchObject({ ok: true, action: 'pause', extension: '1001', ami: { response: 'Success' } });
    expect(paused.body).not.toHaveProperty('auditId');
    expect(sim.queues.members('support')).toEqual([
      expect.objectContaining({ interface: 'PJSIP/1001', paused: true, pausedReason: 'lunch' }),
    ]);
    sim.ami.clearFaults();

    // Down: readiness names the store (and only it).
    await readyzBecomes(d.url, 503, ['store'], 5000);
    const sentBefore = queueActions(sim).length;
    const pbxBefore = JSON.stringify(sim.queues.members());
    // alice's phone dials *43 (pause, a feature-code UserEvent) meanwhile: verified over ARI, then
    // refused cleanly because the Store cannot deduplicate it; the daemon goes on.
    await sim.dialExtension({ from: 'PJSIP/1001', context: 'from-internal', exten: '*43' });
    // Each operation waits for the Store check (bounded): sent together, as several clients would.
    const refusedOps: Array<[string, string, Record<string, unknown>]> = [
      ['sam', 'unpause', { extension: '1001', queue: 'support' }],
      ['sam', 'login', { extension: '1002', queue: 'support' }],
      ['sam', 'penalty', { extension: '1001', queue: 'support', penalty: 3 }],
      ['sam', 'logout', { extension: '1001', queue: 'support' }],
      ['alice', 'pause', { extension: '1003' }], // alice's config token works too: 503, not 401
    ];
    const sentAt = Date.now();
    const refused = await Promise.all(
      refusedOps.map(([who, action, body]) =>
        api(d.url, 'POST', `/v1/queue/${action}`, { token: TOKENS[who as keyof typeof TOKENS], body }),
      ),
    );
    refused.forEach((r, i) =>
      expect(r, `${refusedOps[i]![1]}: ${JSON.stringify(r.body)}`).toMatchObject({ status: 503, body: { code: 'AGENTGATE_ERR_STORE' } }),
    );
    // At once: a Redis known to be gone is not waited for (it took the full 2 s Store check before).
    for (const r of refused) expect(r.at - sentAt).toBeLessThan(1000);
    // A denied request is still a 403 (the policy needs no Redis), and audited.
    expect(
      await api(d.url, 'POST', '/v1/queue/login', { token: TOKENS.alice, body: { extension: '1002', queue: 'support' } }),
    ).toMatchObject({ status: 403, body: { code: 'AGENTGATE_ERR_FORBIDDEN' } });
    await d.waitForOutput(/feature code not applied: the Store does not answer/, 10_000);
    expect(d.alive()).toBe(true);
    // What needs no Redis still answers, with the same tokens.
    const members = await api(d.url, 'GET', '/v1/queue/members?queue=support', { token: TOKENS.sam });
    expect(members.status).toBe(200);
    expect(members.body.members).toEqual([
      expect.objectContaining({ interface: 'PJSIP/1001', paused: true, pausedReason: 'lunch', extension: '1001', user: 'alice' }),
    ]);
    expect((await api(d.url, 'GET', '/v1/me/capabilities', { token: TOKENS.alice })).status).toBe(200);
    // Nothing reached AMI, nothing changed on the PBX.
    expect(queueActions(sim)).toHaveLength(sentBefore);
    expect(JSON.stringify(sim.queues.members())).toBe(pbxBefore);
    expect((await readyz(d.url)).failing).toEqual(['store']);

    await redis.resume(); // empty
    await readyzBecomes(d.url, 200, [], 15_000);
    // The records written while Redis was down are there, in order; the ones from before went with
    // the old Redis data (it restarted empty), which is not agentgate's to keep.
    await until(
      async () => (await auditRows(d.url)).length >= 8,
      10_000,
      () => `buffered audit records flushed:\n${d.output()}`,
    );
    const rows = await auditRows(d.url);
    // In time order: the applied pause first, then what was refused or denied during the outage.
    expect(rows.map(row)[0]).toBe('sam pause 1001 ok');
    expect(rows.map(row).slice(1).sort()).toEqual(
      [
        'sam unpause 1001 refused',
        'sam login 1002 refused',
        'sam penalty 1001 refused',
        'sam logout 1001 refused',
        'alice pause 1003 refused',
        'alice login 1002 denied',
        'alice pause 1001 refused', // the feature code from alice's phone, named after its owner
      ].sort(),
    );
    const feature = rows.find((r) => (r.detail as { source?: string }).source === 'dialplan');
    expect(feature).toMatchObject({
      actor: 'alice',
      extension: '1001',
      detail: { channel: expect.stringMatching(/^PJSIP\/1001-/), error: { code: 'AGENTGATE_ERR_STORE' }, sent: false },
    });
    // alice sees it among her own records.
    const own = await api(d.url, 'GET', '/v1/audit?kind=queue-op&extension=1001', { token: TOKENS.alice });
    expect((own.body.entries as AuditRow[]).map(row)).toEqual(['alice pause 1001 refused']);

    // The same config tokens work, and the operations refused before go through now, each once.
    const unpause = await api(d.url, 'POST', '/v1/queue/unpause', { token: TOKENS.sam, body: { extension: '1001', queue: 'support' } });
    expect(unpause, JSON.stringify(unpause.body)).toMatchObject({ status: 200, body: { ok: true, auditId: expect.any(String) } });
    expect((await api(d.url, 'POST', '/v1/queue/login', { token: TOKENS.sam, body: { extension: '1002', queue: 'support' } })).status).toBe(
      200,
    );
    expect(queueActions(sim).map((a) => `${a.action} ${a.interface}`)).toEqual([
      'QueueAdd PJSIP/1001',
      'QueuePause PJSIP/1001',
      'QueuePause PJSIP/1001',
      'QueueAdd PJSIP/1002',
    ]);
    expect(
      sim.queues
        .members('support')
        .map((m) => `${m.interface} ${m.paused}`)
        .sort(),
    ).toEqual(['PJSIP/1001 false', 'PJSIP/1002 false']);
    await cleanStop(d);
  }, 45_000);

  it('SIGTERM while Redis is down: the daemon stops within a few seconds with exit code 0 and logs the audit records the Store never took (it took ~20 s before)', async () => {
    const rig = await startRig(cleanups);
    const d = await startFaultDaemon(rig);
    await readyzBecomes(d.url, 200, [], 10_000);
    await rig.redis.stop();
    expect(await api(d.url, 'POST', '/v1/queue/pause', { token: TOKENS.alice, body: { extension: '1003' } })).toMatchObject({
      status: 503,
      body: { code: 'AGENTGATE_ERR_STORE' },
    });
    const t = Date.now();
    d.child.kill('SIGTERM');
    await d.exited();
    expect(d.child.exitCode, d.output()).toBe(0);
    expect(Date.now() - t, 'time from SIGTERM to exit').toBeLessThan(5000);
    expect(d.output()).toContain('stopping with audit records the Store never took (they are in this log)');
  }, 30_000);

  it('operations keep coming while Redis stops and restarts empty: every answer is 200 (applied on the PBX exactly once) or 503 AGENTGATE_ERR_STORE (never sent), a client retrying after 503 never doubles anything, and every operation from the outage on is in the audit', async () => {
    const rig = await startRig(cleanups);
    const { sim, redis } = rig;
    const d = await startFaultDaemon(rig);
    await readyzBecomes(d.url, 200, [], 10_000);

    // One client per extension, each sequential: log in, log out, log in... deciding from the last
    // 200 (a 503 means "not done": the client retries the same operation).
    const exts = ['1001', '1002', '1003', '1004', '1005', '1006'];
    const answers = new Map<string, Array<ApiAnswer & { action: string; sentAt: number }>>(exts.map((e) => [e, []]));
    let running = true;
    const client = async (ext: string): Promise<void> => {
      let member = false;
      while (running) {
        const action = member ? 'logout' : 'login';
        const sentAt = Date.now();
        const r = await api(d.url, 'POST', `/v1/queue/${action}`, { token: TOKENS.sam, body: { extension: ext, queue: 'support' } });
        answers.get(ext)!.push({ ...r, action, sentAt });
        if (r.status === 200) member = !member;
        await new Promise((res) => setTimeout(res, 40));
      }
    };
    const clients = Promise.all(exts.map(client));
    const sentOk = (): number => [...answers.values()].flat().filter((a) => a.status === 200).length;
    await until(() => sentOk() >= 12, 10_000, 'operations going through before the outage');
    await redis.stop();
    const downAt = Date.now();
    await until(
      () => [...answers.values()].every((list) => list.some((a) => a.sentAt > downAt && a.status === 503)),
      10_000,
      'every client refused during the outage',
    );
    await redis.resume();
    const upAt = Date.now();
    await until(
      () => [...answers.values()].every((list) => list.some((a) => a.sentAt > upAt && a.status === 200)),
      15_000,
      'every client served again after the outage',
    );
    running = false;
    await clients;

    const sent = queueActions(sim);
    for (const ext of exts) {
      const list = answers.get(ext)!;
      for (const a of list) {
        if (a.status !== 200)
          expect(a, `${ext} ${a.action}: ${JSON.stringify(a.body)}`).toMatchObject({ status: 503, body: { code: 'AGENTGATE_ERR_STORE' } });
      }
      // What AMI received for this interface is exactly the operations answered 200, in order.
      const applied = list.filter((a) => a.status === 200).map((a) => (a.action === 'login' ? 'QueueAdd' : 'QueueRemove'));
      expect(
        sent.filter((s) => s.interface === `PJSIP/${ext}`).map((s) => s.action),
        ext,
      ).toEqual(applied);
      // The PBX ends where the last 200 left it.
      const last = list.filter((a) => a.status === 200).at(-1)!;
      expect(
        sim.queues.members('support').some((m) => m.interface === `PJSIP/${ext}`),
        ext,
      ).toBe(last.action === 'login');
    }

    // Audit: every operation sent after Redis went down is recorded once, in order, with its outcome.
    await until(async () => (await readyz(d.url)).status === 200, 10_000, 'ready again');
    const expected = (ext: string): string[] =>
      answers
        .get(ext)!
        .filter((a) => a.sentAt > downAt)
        .map((a) => `${a.action} ${a.status === 200 ? 'ok' : 'refused'}`);
    await until(
      async () => {
        const rows = await auditRows(d.url);
        return exts.every((ext) => rows.filter((r) => r.extension === ext).length >= expected(ext).length);
      },
      10_000,
      'the audit records of the outage flushed',
    );
    const rows = await auditRows(d.url);
    for (const ext of exts) {
      const got = rows.filter((r) => r.extension === ext).map((r) => `${r.action} ${r.result}`);
      // Records from before the outage are gone with Redis's data; an operation in flight as it
      // stopped may be recorded too (written from the buffer): the tail is exact.
      expect(got.slice(-expected(ext).length), ext).toEqual(expected(ext));
      expect(got.length, ext).toBeLessThanOrEqual(expected(ext).length + 1);
    }
    await cleanStop(d);
  }, 60_000);
});
