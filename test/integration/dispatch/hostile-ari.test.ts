/**
 * Hostile input on the ARI side (issue 12, items 2 and 12), against the real dispatch service over
 * a real websocket: random and malformed event frames never make the service throw and a following
 * good call still works; a repeated StasisStart never serves a caller twice; Stasis arguments with
 * control characters are refused with a log line and the caller continued with NOAGENT.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pino from 'pino';
import { Simulator } from '../../../src/sim/index.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { startDispatchService, type DispatchService, type FeatureRequest } from '../../../src/app/dispatch-service.js';
import { createAriCallControl } from '../../../src/adapters/ari/call-control.js';
import { systemClock } from '../../../src/ports/clock.js';
import type { Store } from '../../../src/ports/store.js';
import { dispatchConfig, makeStore, scripts, until } from '../../support/dispatch-harness.js';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

describe('hostile ARI input', () => {
  let sim: Simulator;
  let store: Store;
  let cleanup: () => Promise<void>;
  let svc: DispatchService;
  let lines: LogLine[];
  let featureCalls: FeatureRequest[];

  beforeEach(async () => {
    sim = await Simulator.start();
    ({ store, cleanup } = await makeStore('memory'));
    lines = [];
    featureCalls = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
    const config = dispatchConfig(sim);
    svc = await startDispatchService({
      server: config.servers[0]!,
      calls: createAriCallControl({ ...config.servers[0]!.ari!, logger }),
      dispatch: config.dispatch,
      store,
      policy: createPolicyHolder(config.directory),
      clock: systemClock(),
      logger,
      instanceId: config.instance.id,
      featureHandler: async (req) => {
        featureCalls.push(req);
        return { result: 'OK' };
      },
    });
  });
  afterEach(async () => {
    await svc.stop();
    await sim.stop();
    await cleanup();
  });

  const handlerFailures = (): LogLine[] => lines.filter((l) => l.msg.startsWith('ARI event handler'));
  const legRecords = (): number => sim.pbx.hangupRecords().filter((r) => r.name.startsWith('PJSIP/200')).length;

  describe('Stasis arguments with control characters', () => {
    const cases: Array<[string, string[], string]> = [
      ['a vertical tab before the timeout (Number() would read it as 5)', ['dispatch', 'alice', '\u000b5'], 'dialplan argument 3'],
      [
        'an escape sequence in an extra argument the dispatch does not read',
        ['dispatch', 'alice', '30', '\u001b[2J'],
        'dialplan argument 4',
      ],
      ['a NUL in the agent', ['dispatch', 'alice\u0000'], 'dialplan argument 2'],
    ];
    for (const [name, args, field] of cases) {
      it(`${name}: refused with a log line naming the argument; the caller continued with NOAGENT; no leg rung`, async () => {
        const call = await sim.dialIn({ args });
        const ended = await call.ended();
        expect(ended).toMatchObject({
          how: 'continued',
          variables: { AGENTGATE_RESULT: 'NOAGENT' },
          continuedTo: { context: 'incoming', exten: '100', priority: 2 },
        });
        expect(legRecords()).toBe(0);
        expect(sim.pbx.channels()).toEqual([]);
        const line = lines.find((l) => l.msg.includes('Stasis arguments refused'));
        expect(line).toBeDefined();
        expect(String(line!.reason)).toContain(`Invalid value for ${field}: must not contain control characters`);
      });
    }

    it('the feature branch: a control character in the queue is refused before the queue operation runs; NOAGENT', async () => {
      const call = await sim.dialIn({ args: ['feature', 'login', 'support\u001b'], from: 'PJSIP/1003', callerNumber: '1003' });
      const ended = await call.ended();
      expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
      expect(featureCalls).toEqual([]);
      expect(lines.some((l) => l.msg.includes('Stasis arguments refused') && String(l.reason).includes('dialplan argument 3'))).toBe(true);
    });

    it('a TAB passes: the feature runs with it', async () => {
      const call = await sim.dialIn({ args: ['feature', 'login', 'support\t'], from: 'PJSIP/1003', callerNumber: '1003' });
      expect((await call.ended()).variables.AGENTGATE_RESULT).toBe('OK');
      expect(featureCalls.map((f) => f.args)).toEqual([['login', 'support\t']]);
    });
  });

  it('a repeated StasisStart for a caller being served does not start a second dispatch (which found the agent busy and sent the caller away with NOAGENT)', async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 300 }, 'PJSIP/2003': { kind: 'ring' } });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.name.startsWith('PJSIP/200')).length === 3, 3000, 'three legs');
    const channel = sim.pbx.channel(call.id)!;
    expect(
      sim.faults.sendRawAriFrame(
        JSON.stringify({
          type: 'StasisStart',
          timestamp: '2026-11-24T15:36:32.409+0000',
          args: ['dispatch', 'alice'],
          channel,
          asterisk_id: sim.pbx.asteriskId,
          application: 'agentgate',
        }),
      ),
    ).toBe(true);
    await until(
      () => sim.pbx.bridges().some((b) => b.channels.includes(call.id) && b.channels.length === 2),
      3000,
      'the caller bridged with 2002',
    );
    await until(() => sim.pbx.channels().filter((c) => c.name.startsWith('PJSIP/200')).length === 1, 3000, 'the two losers hung up');
    expect(sim.pbx.channel(call.id)).toBeDefined();
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'clean');
  });

  it('fuzz: random frames (not JSON, arrays, unknown types, missing and wrong-typed fields, duplicate keys, truncated) never make the service throw; a good call after each batch works', async () => {
    const text = (v: unknown): string => {
      try {
        return JSON.stringify(v) ?? 'undefined';
      } catch {
        return '{';
      }
    };
    const channel = fc.oneof(
      fc.record({
        id: fc.string(),
        name: fc.string(),
        state: fc.constantFrom('Up', 'Ring', 'Down'),
        caller: fc.record({ number: fc.string(), name: fc.string() }),
      }),
      fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), name: fc.anything() }, { requiredKeys: [] }),
      fc.anything(),
    );
    const event = fc.record(
      {
        type: fc.oneof(
          fc.constantFrom(
            'StasisStart',
            'StasisEnd',
            'Dial',
            'ChannelDestroyed',
            'ChannelHangupRequest',
            'ChannelVarset',
            'PlaybackFinished',
            'ChannelTelepathy',
          ),
          fc.anything(),
        ),
        application: fc.constant('agentgate'),
        channel,
        peer: channel,
        args: fc.oneof(
          fc.constant(['dispatch', 'nobody']),
          fc.constant(['dispatch']),
          fc.constant(['leg', 'x']),
          fc.constant(['feature', 'login', 'support']),
          fc.array(fc.string(), { maxLength: 4 }),
          fc.dictionary(fc.constantFrom('0', '1', '2'), fc.constantFrom('dispatch', 'feature', 'login', 'nobody')),
          fc.anything(),
        ),
        dialstatus: fc.oneof(fc.constantFrom('', 'RINGING', 'ANSWER', 'BUSY', 'CONGESTION'), fc.anything()),
        cause: fc.oneof(fc.integer(), fc.anything()),
        soft: fc.oneof(fc.boolean(), fc.anything()),
      },
      { requiredKeys: ['type'] },
    );
    const frame = fc.oneof(
      event.map(text),
      fc.string(),
      fc.jsonValue().map(text),
      // The same key twice (JSON.parse keeps the last): a good-looking event overridden by a bad one, and the reverse.
      fc.tuple(event, event).map(([a, b]) => `${text(a).slice(0, -1)},${text(b).slice(1)}`),
      event.map((e) => text(e).slice(0, Math.max(1, Math.floor(text(e).length / 2)))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 15 }), async (frames) => {
        for (const f of frames) expect(sim.faults.sendRawAriFrame(f)).toBe(true);
        // Frames and the call's StasisStart share one websocket, in order: the call is handled after them.
        const call = await sim.dialIn({ args: ['dispatch', 'nobody'] });
        const ended = await call.ended();
        expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
        expect(handlerFailures()).toEqual([]);
      }),
      { numRuns: 100 },
    );
    expect(lines.some((l) => l.msg.includes('not JSON') || l.msg.includes('malformed ARI'))).toBe(true);
    // And a full ring-all call still works after all that.
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 20 }, 'PJSIP/2003': { kind: 'ring' } });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.bridges().some((b) => b.channels.includes(call.id) && b.channels.length === 2), 3000, 'bridged');
    await call.hangup();
    await until(() => !sim.pbx.channels().some((c) => c.name.startsWith('PJSIP/200')), 3000, 'legs gone');
    expect(handlerFailures()).toEqual([]);
  });

  describe('the Store failing as a call arrives', () => {
    it('the claim cannot be taken (Store down): the caller is continued with NOAGENT and a log line, not left in Stasis', async () => {
      await svc.stop();
      const broken = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'acquireLease') return async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      const config = dispatchConfig(sim);
      const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
      svc = await startDispatchService({
        server: config.servers[0]!,
        calls: createAriCallControl({ ...config.servers[0]!.ari!, logger }),
        dispatch: config.dispatch,
        store: broken,
        policy: createPolicyHolder(config.directory),
        clock: systemClock(),
        logger,
        instanceId: config.instance.id,
      });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      const ended = await call.ended();
      expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
      expect(legRecords()).toBe(0);
      // One line at error level says why (the Store), so an admin reading the log knows what to fix.
      expect(lines.some((l) => l.level >= 50 && /Store unavailable|dispatch could not start/.test(l.msg))).toBe(true);
    });
  });
});
