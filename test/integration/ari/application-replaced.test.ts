/**
 * Issue 16 items 5 and 8 at the ARI adapter, against the simulator: a second websocket taking the
 * application (ApplicationReplaced, as recordings/ari/application-replaced.jsonl shows Asterisk sends
 * it) is an error the instance reports and does not fight; `GET /applications/{app}` checks that
 * Asterisk lists the app; wrong credentials are a config error, never swagger-client's uncaught throw.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { AriEvents } from '../../../src/adapters/ari/events.js';
import { until } from '../../support/dispatch-harness.js';
import { captureLogs, type CapturedLogs } from '../../support/log-capture.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

async function sim(): Promise<Simulator> {
  const s = await Simulator.start();
  cleanups.push(() => s.stop());
  return s;
}

/** An ARI event adapter on app `agentgate`, its log lines captured, StasisStart channel ids recorded. */
function adapter(
  s: Simulator,
  over: { password?: string; url?: string; appCheckIntervalMs?: number } = {},
): { events: AriEvents; logs: CapturedLogs; starts: string[] } {
  const logs = captureLogs();
  const starts: string[] = [];
  const events = new AriEvents({
    url: over.url ?? s.ariUrl,
    username: 'agentgate',
    password: over.password ?? 'secret',
    app: 'agentgate',
    pingIntervalMs: 1000,
    appCheckIntervalMs: over.appCheckIntervalMs ?? 60_000,
    logger: logs.logger,
    onEvent: (e) => {
      if (e.type === 'StasisStart') starts.push(e.channel.id);
    },
    onConnected: () => undefined,
    onDisconnected: () => undefined,
  });
  cleanups.push(() => events.stop());
  return { events, logs, starts };
}

describe('#16.8 ApplicationReplaced', () => {
  it('the replaced instance logs an error, reports the problem, closes its websocket and leaves the app to the newer one', async () => {
    const s = await sim();
    const first = adapter(s);
    await first.events.start();
    expect(first.events.problem()).toBeUndefined();
    const second = adapter(s);
    await second.events.start();

    await until(
      () => first.logs.lines.some((l) => l.level === 50 && /ApplicationReplaced/.test(String(l.msg))),
      3000,
      'an error line about ApplicationReplaced',
    );
    expect(first.events.isConnected()).toBe(false);
    expect(first.events.problem()).toMatch(/taken over by another websocket .*ApplicationReplaced/);
    // Its socket is closed, so no reconnect of ari-client's can take the app back (before: it stayed open).
    await until(() => s.ari.websocketCount() === 1, 3000, 'only the newer websocket left');
    expect(second.events.problem()).toBeUndefined();

    // Calls go to the holder, and the replaced instance does not fight for them.
    const call = await s.dialIn({ args: ['x'] });
    await until(() => second.starts.includes(call.id), 3000, 'the newer instance gets the call');
    expect(first.starts).toEqual([]);
    await call.hangup();
    expect(second.logs.lines.some((l) => /ApplicationReplaced/.test(String(l.msg)))).toBe(false);
  });

  it('once the other holder is gone (the app no longer listed), the replaced instance takes the app back', async () => {
    const s = await sim();
    const first = adapter(s, { appCheckIntervalMs: 100 });
    await first.events.start();
    const second = adapter(s);
    await second.events.start();
    await until(() => first.events.problem() !== undefined, 3000, 'replaced');
    await second.events.stop();

    await until(() => first.events.isConnected() && first.events.problem() === undefined, 5000, 'the app taken back');
    expect(first.logs.has(/is free again .*taking it back/)).toBe(true);
    const call = await s.dialIn({ args: ['x'] });
    await until(() => first.starts.includes(call.id), 3000, 'calls reach it again');
    await call.hangup();
  });

  it('while Asterisk does not list the app (GET /applications/agentgate 404) with the websocket open, problem() says so', async () => {
    const s = await sim();
    const a = adapter(s, { appCheckIntervalMs: 100 });
    await a.events.start();
    s.faults.failRest(/^GET \/applications\/agentgate$/, 404, { message: 'Application not found' });
    await until(() => /does not list ARI application 'agentgate'/.test(a.events.problem() ?? ''), 3000, 'the problem reported');
    expect(a.events.isConnected()).toBe(true);
    s.faults.clear();
    await until(() => a.events.problem() === undefined, 3000, 'listed again');
  });
});

describe('#16.5 ARI credentials and URL at start', () => {
  it('a wrong password rejects start() with AGENTGATE_ERR_CONFIG naming ari.password and the URL (before: swagger-client threw "401 : undefined …" uncaught)', async () => {
    const s = await sim();
    const a = adapter(s, { password: 'wrong' });
    const err = await a.events.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'AGENTGATE_ERR_CONFIG', field: 'ari.password' });
    expect((err as Error).message).toContain(s.ariUrl);
    expect((err as Error).message).toContain("refused user 'agentgate'");
  });

  it('a URL that is not ARI (404 for the api-docs) is AGENTGATE_ERR_CONFIG naming ari.url', async () => {
    const s = await sim();
    const a = adapter(s, { url: `${s.ariUrl}/ari` });
    await expect(a.events.start()).rejects.toMatchObject({ code: 'AGENTGATE_ERR_CONFIG', field: 'ari.url' });
  });
});
