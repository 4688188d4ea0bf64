/**
 * The call-control use case (src/app/call-control.ts) on the real dispatch service with a fake PBX
 * (test/support/fake-call-control.ts): the exact requests Asterisk gets, in order; what happens when
 * Asterisk fails one; how long a hold may last before it is flagged; the metrics.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeCalls, flush, type FakeCalls } from '../../support/fake-call-control.js';
import { manualClock, type ManualClock } from '../../support/manual-clock.js';
import { captureLogs, type CapturedLogs } from '../../support/log-capture.js';
import { sampleValue } from '../../support/metrics-text.js';
import { validateConfig } from '../../../src/config/load.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { createAuditTrail } from '../../../src/app/audit-trail.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { startDispatchService, type DispatchService } from '../../../src/app/dispatch-service.js';
import { createCallControl, type CallControlService } from '../../../src/app/call-control.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../../src/adapters/metrics/prometheus.js';
import { AgentgateError } from '../../../src/errors/codes.js';
import type { Store } from '../../../src/ports/store.js';

let calls: FakeCalls;
let clock: ManualClock;
let store: Store;
let svc: DispatchService;
let cc: CallControlService;
let metrics: PrometheusMetrics;
let logs: CapturedLogs;

beforeEach(async () => {
  const config = validateConfig({
    instance: { id: 'u1' },
    servers: [{ name: 'pbx1', ari: { url: 'http://127.0.0.1:1', username: 'u', password: 'p' } }],
    dispatch: { answer: 'late', ringTimeoutSec: 20 },
    calls: { holdAlertSec: 60, mohClass: 'soft' },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          addresses: ['PJSIP/2001'],
          flags: { inbound: true, hold: true, hangup: true, transfer: true },
        },
        { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent', addresses: ['PJSIP/2004'], flags: { inbound: true } },
      ],
      queues: [{ id: 'support' }],
    },
  });
  clock = manualClock();
  store = createMemoryStore({ clock });
  calls = fakeCalls();
  metrics = createPrometheusMetrics({ defaultMetrics: false });
  logs = captureLogs();
  const policy = createPolicyHolder(config.directory);
  const audit = createAuditTrail({ store, logger: logs.logger, metrics });
  svc = await startDispatchService({
    server: { name: 'pbx1' },
    calls,
    dispatch: config.dispatch,
    store,
    policy,
    clock,
    logger: logs.logger,
    instanceId: 'u1',
    audit,
    metrics,
  });
  cc = createCallControl({
    dispatch: new Map([['pbx1', svc]]),
    policy,
    members: () => [],
    calls: config.calls,
    clock,
    audit,
    logger: logs.logger,
    metrics,
  });
});
afterEach(async () => {
  cc.stop();
  await svc.stop();
});

/** A customer from `args` reaches alice's phone, which answers: the call is talking. Returns its id. */
async function talking(args: string[] = ['dispatch', 'alice', '', 'support']): Promise<string> {
  await calls.handlers!.event({
    type: 'StasisStart',
    channel: { id: 'caller', name: 'PJSIP/trunk-1', caller: { number: '555', name: 'Cust' } },
    args,
  });
  await flush();
  const leg = calls.sent.find((r) => r.op === 'createChannel')!.args[0] as { channelId: string; appArgs: string };
  await calls.handlers!.event({ type: 'StasisStart', channel: { id: leg.channelId, name: 'PJSIP/2001-1' }, args: leg.appArgs.split(',') });
  await flush();
  await calls.handlers!.event({ type: 'Dial', peer: { id: leg.channelId, name: 'PJSIP/2001-1' }, dialstatus: 'ANSWER' });
  await flush();
  const [c] = cc.list(args[1]!, '127.0.0.1');
  expect(c).toMatchObject({ state: 'talking' });
  return c!.id;
}
const after = (mark: number): string[] => calls.log().slice(mark);

describe('call control use case (fake PBX)', () => {
  it('hold plays the configured music to the customer channel only; unhold stops it', async () => {
    const id = await talking();
    let mark = calls.sent.length;
    const held = await cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'hold' });
    expect(after(mark)).toEqual(['startMoh caller']);
    expect(calls.sent.at(-1)!.args).toEqual(['caller', 'soft']);
    expect(held.call).toMatchObject({ state: 'on_hold', holdSince: clock.now(), holdBy: 'api', holdTooLong: false });
    mark = calls.sent.length;
    await cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'unhold' });
    expect(after(mark)).toEqual(['stopMoh caller']);
  });

  it('the answer waits for Asterisk: a held request keeps the action pending until it is answered', async () => {
    const id = await talking();
    calls.hold('startMoh');
    let done = false;
    const p = cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'hold' }).then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    calls.sent.find((r) => r.op === 'startMoh')!.resolve();
    await p;
    expect(done).toBe(true);
  });

  it('a hold Asterisk refuses is an error (ARI), audited as failed, counted, and the call is not left on hold', async () => {
    const id = await talking();
    calls.failing.set(
      'startMoh',
      new AgentgateError('AGENTGATE_ERR_ARI_FAILED', { operation: 'POST /channels/caller/moh', detail: '500' }),
    );
    await expect(cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'hold' })).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_ARI_FAILED',
      status: 502,
    });
    expect(cc.list('alice', '127.0.0.1')[0]!.state).toBe('talking');
    const [a] = await store.queryAudit({ kind: 'call-action' });
    expect(a).toMatchObject({ action: 'hold', result: 'failed', detail: { error: { code: 'AGENTGATE_ERR_ARI_FAILED' } } });
    const text = (await metrics.render()).body;
    expect(sampleValue(text, 'agentgate_call_actions_total', { action: 'hold', outcome: 'failed' })).toBe(1);
  });

  it('transfer: on the customer, the result then the number, then the continue to the transfer context; the agent leg hung up', async () => {
    const id = await talking();
    const mark = calls.sent.length;
    const r = await cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'transfer', to: '0612' });
    expect(r).toMatchObject({ result: 'TRANSFERRED', action: 'transfer' });
    const onCaller = calls.sent.slice(mark).filter((x) => x.args[0] === 'caller');
    expect(onCaller.map((x) => [x.op, ...x.args.slice(1)])).toEqual([
      ['setVar', 'AGENTGATE_RESULT', 'TRANSFERRED'],
      ['setVar', 'AGENTGATE_TRANSFER_TO', '0612'],
      ['continueInDialplan', { context: 'agentgate-transfer', extension: '0612', priority: 1 }],
    ]);
    expect(after(mark)).toContain(`hangup ${id}-leg1`);
    expect(after(mark)).toContain(`destroyBridge ${id}-bridge`);
    expect(cc.list('alice')).toEqual([]);
  });

  it('the continued customer’s later StasisEnd, hang-up and ChannelDestroyed start nothing and are not a caller hang-up', async () => {
    const id = await talking();
    await cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'hangup' });
    const mark = calls.sent.length;
    const ch = { id: 'caller', name: 'PJSIP/trunk-1' };
    await calls.handlers!.event({ type: 'StasisEnd', channel: ch });
    await calls.handlers!.event({ type: 'ChannelHangupRequest', channel: ch, cause: 16 });
    await calls.handlers!.event({ type: 'ChannelDestroyed', channel: ch, cause: 16 });
    await flush();
    expect(after(mark)).toEqual([]);
    expect(cc.list('alice')).toEqual([]);
    const dispatches = await store.queryAudit({ kind: 'dispatch', action: 'dispatch' });
    expect(dispatches.map((d) => d.result)).toEqual(['AGENT_HANGUP']);
    expect(logs.lines.filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
  });

  it('a hold longer than calls.holdAlertSec is flagged, in the list and in the metrics', async () => {
    const id = await talking();
    await cc.act({ actor: 'alice', ip: '127.0.0.1', callId: id, action: 'hold' });
    clock.advance(60_000);
    expect(cc.list('alice')[0]!.holdTooLong).toBe(false);
    let text = (await metrics.render()).body;
    expect(sampleValue(text, 'agentgate_calls_on_hold')).toBe(1);
    expect(sampleValue(text, 'agentgate_calls_on_hold_too_long')).toBe(0);
    clock.advance(1);
    expect(cc.list('alice')[0]!.holdTooLong).toBe(true);
    text = (await metrics.render()).body;
    expect(sampleValue(text, 'agentgate_calls_on_hold_too_long')).toBe(1);
    expect(sampleValue(text, 'agentgate_call_actions_total', { action: 'hold', outcome: 'allowed' })).toBe(1);
  });

  it('the queue argument is kept on the call and in its Store record', async () => {
    await talking();
    expect(cc.list('alice')[0]!.queue).toBe('support');
    expect((await store.listDispatches()).map((d) => d.data?.queue)).toEqual(['support']);
  });

  it('a phone hold: state only (no music from agentgate), audited with source phone; without the hold flag it is a counted violation', async () => {
    const id = await talking();
    const mark = calls.sent.length;
    expect(await cc.phoneHold(id, true)).toBe(true);
    expect(after(mark)).toEqual([]);
    expect(cc.list('alice')[0]).toMatchObject({ state: 'on_hold', holdBy: 'phone' });
    expect(await cc.phoneHold(id, false)).toBe(true);
    expect(cc.list('alice')[0]!.state).toBe('talking');
    const audit = await store.queryAudit({ kind: 'call-action' });
    expect(audit.map((a) => `${a.action}:${a.result}:${String(a.detail.source)}`).reverse()).toEqual(['hold:ok:phone', 'unhold:ok:phone']);
    expect(sampleValue((await metrics.render()).body, 'agentgate_phone_hold_without_flag_total')).toBe(0);
    expect(await cc.phoneHold('nope', true)).toBe(false);
  });

  it('a phone hold by an agent without the hold flag still holds (the phone did it) but is a violation: audited and counted', async () => {
    const id = await talking(['dispatch', 'bob']);
    await cc.phoneHold(id, true);
    expect(cc.list('bob')[0]).toMatchObject({ state: 'on_hold', holdBy: 'phone' });
    const [a] = await store.queryAudit({ kind: 'call-action' });
    expect(a).toMatchObject({
      actor: 'bob',
      action: 'hold',
      result: 'violation',
      detail: { source: 'phone', decision: { allowed: false } },
    });
    expect(sampleValue((await metrics.render()).body, 'agentgate_phone_hold_without_flag_total')).toBe(1);
    expect(logs.has('the phone put a call on hold without the hold flag')).toBe(true);
  });

  it('an unknown queue argument is warned about and the call is dispatched without a queue', async () => {
    await talking(['dispatch', 'alice', '', 'nowhere']);
    expect(cc.list('alice')[0]!.queue).toBeUndefined();
    expect(logs.has(/dialplan argument 4 \(queue\) names no queue of the policy: 'nowhere'/)).toBe(true);
  });
});
