/**
 * The log of one call, as an admin reads it (raw JSON lines, and through pino-pretty): at info one
 * "call ringing" line saying who and which devices, one "call ended" line; at debug each leg; no key
 * twice in a line, no `caller` key (pino-pretty takes it for the line's source and prints
 * `<[object Object]>`, losing the caller's details).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { prettyFactory } from 'pino-pretty';
import { Simulator } from '../../../src/sim/index.js';
import { createLogger } from '../../../src/log.js';
import { validateConfig } from '../../../src/config/load.js';
import { startDaemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import type { TimelineEvent } from '../../../src/app/dispatch-service.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';
import { duplicateKeys } from '../../support/json-keys.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

const dana = {
  id: 'dana',
  name: 'Dana',
  role: 'agent',
  scope: 'call_center_agent',
  addresses: ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003'],
  flags: { inbound: true },
};

type Call = Awaited<ReturnType<Simulator['dialIn']>>;

async function oneCall(
  level: 'info' | 'debug',
  script: Parameters<typeof scripts>[1],
  end: (call: Call, bridged: Promise<void>) => Promise<void>,
): Promise<{ raw: string[]; call: string }> {
  const sim = await Simulator.start();
  const { store, cleanup } = await makeStore('memory');
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const svc = await startService(sim, store, { users: [dana], instance: 'logs', logger: createLogger({ level }, sink) });
  cleanups.push(
    cleanup,
    () => sim.stop(),
    () => svc.stop(),
  );
  scripts(sim, script);
  // Bridged as agentgate sees it (not only as the PBX does): a hang-up before that is CALLER_HANGUP.
  const bridged = new Promise<void>((resolve) => svc.on('timeline', (t: TimelineEvent) => t.kind === 'bridged' && resolve()));
  const call = await sim.dialIn({ args: ['dispatch', 'dana'], callerNumber: '5551234' });
  await end(call, bridged);
  await until(() => raw.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'call ended'), 5000, 'the ended line');
  return { raw: raw.filter((l) => l.includes(call.id)), call: call.id };
}

describe('the log of a call', () => {
  it('answered call at info: one "call ringing" line (who, which devices), one "call ended" line; no duplicate key, no caller key', async () => {
    const { raw, call } = await oneCall(
      'info',
      { 'PJSIP/2001': { kind: 'answer', afterMs: 50 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'busy' } },
      async (c, bridged) => {
        await bridged;
        await c.hangup();
      },
    );
    for (const line of raw) {
      expect(duplicateKeys(line), line).toEqual([]);
      expect(Object.keys(JSON.parse(line) as object), line).not.toContain('caller');
    }
    const lines = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    const ringing = lines.filter((l) => l.msg === 'call ringing');
    const ended = lines.filter((l) => l.msg === 'call ended');
    expect(ringing).toHaveLength(1);
    expect(ended).toHaveLength(1);
    expect(ringing[0]).toMatchObject({
      level: 30,
      agent: 'dana',
      callerNumber: '5551234',
      callerChannel: call,
      server: 'pbx1',
      devices: ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003'],
    });
    expect(ended[0]).toMatchObject({
      level: 30,
      result: 'ANSWERED',
      agent: 'dana',
      winner: 'PJSIP/2001',
      callerChannel: call,
      hungUpBy: 'caller',
    });
    expect((ended[0]!.legs as Array<{ endpoint: string; outcome: string }>).map((l) => `${l.endpoint} ${l.outcome}`).sort()).toEqual([
      'PJSIP/2001 answered',
      'PJSIP/2002 cancelled',
      'PJSIP/2003 busy',
    ]);
    // No leg detail at info.
    expect(lines.filter((l) => /^leg /.test(String(l.msg)))).toEqual([]);
    // Read by a person through pino-pretty: the caller's channel is there, no `<[object Object]>` source.
    const pretty = prettyFactory({ colorize: false });
    const shown = raw.map((l) => pretty(l)).join('');
    expect(shown).toContain('call ringing');
    expect(shown).toContain(`callerChannel: "${call}"`);
    expect(shown).not.toContain('[object Object]');
  });

  it('at debug each leg has its lines (created, ended with its cause) under the call id; a call nobody answers still ends with one "call ended"', async () => {
    const { raw } = await oneCall(
      'debug',
      { 'PJSIP/2001': { kind: 'busy' }, 'PJSIP/2002': { kind: 'unavailable' }, 'PJSIP/2003': { kind: 'busy' } },
      async (c) => {
        await c.ended();
      },
    );
    const lines = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const line of raw) expect(duplicateKeys(line), line).toEqual([]);
    expect(lines.filter((l) => l.msg === 'call ringing')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'call ended')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'call ended')).toMatchObject({ result: 'BUSY' });
    for (const ep of ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003']) {
      expect(
        lines.some((l) => l.msg === 'leg created' && l.endpoint === ep && l.level === 20),
        `${ep} created`,
      ).toBe(true);
    }
    // Busy phones end with cause 17 (user busy), the unavailable one with 20 (subscriber absent).
    expect(Object.fromEntries(lines.filter((l) => l.msg === 'leg ended' && l.level === 20).map((l) => [l.endpoint, l.cause]))).toEqual({
      'PJSIP/2001': 17,
      'PJSIP/2002': 20,
      'PJSIP/2003': 17,
    });
    expect(new Set(lines.map((l) => l.callId)).size).toBe(1);
  });

  it('the whole daemon at debug (a call, queue operations allowed and denied, a feature code): no line has a key twice or a caller key', async () => {
    const sim = await Simulator.start();
    const raw: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        raw.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = validateConfig({
      instance: { id: 'logs-daemon' },
      servers: [
        {
          name: 'pbx1',
          ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', restTimeoutMs: 2000 },
          ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
        },
      ],
      http: { enabled: false },
      directory: {
        users: [{ ...dana, extensions: ['1001'] }],
        extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
        queues: [{ id: 'support' }],
        grants: [{ id: 'dana-self', subject: 'user:dana', actions: ['pause', 'unpause'], targets: ['user:dana'] }],
      },
    });
    const daemon = await startDaemon(config, {
      store: createMemoryStore({ clock: systemClock() }),
      logger: createLogger({ level: 'debug' }, sink),
    });
    cleanups.push(
      () => sim.stop(),
      () => daemon.stop(),
    );
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 30 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const call = await sim.dialIn({ args: ['dispatch', 'dana'] });
    await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 3000, 'bridged');
    await call.hangup();
    // Not a member of any queue: Asterisk refuses the pause (its own log line).
    await expect(
      daemon.queue.execute({ actor: 'dana', action: 'pause', extension: '1001', source: 'http', ip: '127.0.0.1' }),
    ).rejects.toThrow(/not found/);
    await expect(
      daemon.queue.execute({ actor: 'dana', action: 'login', extension: '1001', queue: 'support', source: 'http', ip: '127.0.0.1' }),
    ).rejects.toThrow(/Denied by policy/);
    const feature = await sim.dialIn({ args: ['feature', 'unpause'], from: 'PJSIP/1001' });
    await feature.ended();
    await until(
      () => raw.some((l) => l.includes('"call ended"')) && raw.some((l) => l.includes('"queue operation denied"')),
      3000,
      'the lines',
    );
    for (const line of raw) {
      expect(duplicateKeys(line), line).toEqual([]);
      expect(Object.keys(JSON.parse(line) as object), line).not.toContain('caller');
    }
    expect(prettyFactory({ colorize: false })(raw.join('\n'))).not.toContain('[object Object]');
  });
});
