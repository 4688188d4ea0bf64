/**
 * The queue service against hostile AMI input and a failing Store, over real sockets: the
 * simulator's AMI (which forwards headers as Asterisk does), its ARI (to check feature-code
 * channels), and a Store that can be switched off. Issue #12 items 1, 2, 3, 6, 7 (AMI), 12 (AMI), 13.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig, type Config } from '../../../src/config/load.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { startQueueService, type MemberView, type QueueService } from '../../../src/app/queue-service.js';
import { createAriChannelLookup } from '../../../src/adapters/ari/channel-lookup.js';
import { createAmiQueueControls } from '../../../src/adapters/ami/queue-control.js';
import { createAuditTrail, type AuditTrail } from '../../../src/app/audit-trail.js';
import { systemClock } from '../../../src/ports/clock.js';
import { until } from '../../support/dispatch-harness.js';
import { flakyStore, type FlakyStore } from '../../support/flaky-store.js';
import { captureLogs, type CapturedLogs } from '../../support/log-capture.js';

function config(sim: Simulator, ami: Record<string, unknown> = {}, withAri = true): Config {
  return validateConfig({
    instance: { id: 'hostile-1' },
    servers: [
      {
        name: 'pbx1',
        ...(withAri ? { ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', restTimeoutMs: 1000 } } : {}),
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 1000, ...ami },
      },
    ],
    directory: {
      users: [
        { id: 'alice', name: 'Alice Agent', role: 'agent', scope: 'call_center_agent', extensions: ['1001'] },
        { id: 'bob', name: 'Bob Agent', role: 'agent', scope: 'call_center_agent', extensions: ['1003'] },
        { id: 'sam', name: 'Sam Supervisor', role: 'supervisor', scope: 'call_center_supervisor', extensions: ['1005'] },
      ],
      groups: [{ id: 'team', members: ['alice', 'bob'], supervisors: ['sam'] }],
      extensions: [
        { id: '1001', interface: 'PJSIP/1001' },
        { id: '1003', interface: 'PJSIP/1003' },
        { id: '1005', interface: 'PJSIP/1005' },
      ],
      queues: [{ id: 'support' }, { id: 'sales' }],
      grants: [
        { id: 'own', subject: 'group:team', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['queue:support'] },
        { id: 'own-alice', subject: 'user:alice', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:alice'] },
        { id: 'own-bob', subject: 'user:bob', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:bob'] },
        {
          id: 'sam-team',
          subject: 'user:sam',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['group:team', 'queue:support', 'queue:sales'],
        },
      ],
    },
  });
}

interface Rig {
  sim: Simulator;
  store: FlakyStore;
  q: QueueService;
  logs: CapturedLogs;
  audit: AuditTrail;
}

let rig: Rig | undefined;
const extra: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of extra.splice(0)) await f();
  if (rig) {
    await rig.q.stop();
    await rig.audit.stop();
    await rig.sim.stop();
  }
  rig = undefined;
});

async function start(opts: { ami?: Record<string, unknown>; withAri?: boolean } = {}): Promise<Rig> {
  const sim = await Simulator.start();
  const c = config(sim, opts.ami, opts.withAri ?? true);
  const store = flakyStore();
  const logs = captureLogs();
  const channels = createAriChannelLookup(c.servers);
  extra.push(() => channels.close());
  const audit = createAuditTrail({ store, logger: logs.logger, retryMs: 50 });
  const q = await startQueueService({
    pbx: createAmiQueueControls(c.servers, { instanceId: c.instance.id, logger: logs.logger }),
    servers: c.servers,
    store,
    policy: createPolicyHolder(c.directory),
    clock: systemClock(),
    logger: logs.logger,
    channels,
    featureContexts: c.featureCodes.contexts,
    audit,
  });
  rig = { sim, store, q, logs, audit };
  return rig;
}

/** Another AMI client (a CRM, an operator panel) logged in with its own socket; resolves once logged in. */
async function otherAmiClient(sim: Simulator): Promise<{ send(text: string): void }> {
  const socket: Socket = connect(sim.amiPort, '127.0.0.1');
  extra.push(() => void socket.destroy());
  let buf = '';
  socket.on('data', (d: Buffer) => (buf += d.toString('utf8')));
  socket.write('Action: Login\r\nUsername: agentgate\r\nSecret: secret\r\nActionID: crm-login\r\n\r\n');
  await until(() => buf.includes('Authentication accepted'), 2000, 'the other client logged in');
  return { send: (text) => socket.write(text) };
}

const memberTypesOk = (m: MemberView): boolean =>
  typeof m.server === 'string' &&
  typeof m.queue === 'string' &&
  typeof m.interface === 'string' &&
  typeof m.memberName === 'string' &&
  typeof m.stateInterface === 'string' &&
  typeof m.pausedReason === 'string' &&
  Number.isFinite(m.penalty) &&
  Number.isFinite(m.status) &&
  typeof m.paused === 'boolean' &&
  typeof m.dynamic === 'boolean';

describe('#12.3 forged feature codes', () => {
  it('a UserEvent sent as an AMI action by another client (Action : login, made-up Channel and Uniqueid) does not log the extension in; it is audited as rejected', async () => {
    const { sim, store, q, logs } = await start();
    const crm = await otherAmiClient(sim);
    crm.send(
      'Action: UserEvent\r\nUserEvent: AgentGate\r\nAction : login\r\nQueue: support\r\nChannel: PJSIP/1003-0000f0a9\r\nUniqueid: made-up\r\nActionID: forged-1\r\n\r\n',
    );
    await until(() => logs.has('feature-code UserEvent rejected'), 3000, 'the forged event rejected');
    const rejected = await store.queryAudit({ result: 'rejected' });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.detail).toMatchObject({ reason: 'no channel made-up on pbx1' });
    // The real one, from a phone in the dialplan, still works.
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
    await until(() => sim.queues.members('support').length === 1, 3000, 'bob logged in by the real feature code');
    expect(sim.queues.members('support')[0]).toMatchObject({ interface: 'PJSIP/1003' });
    expect(sim.ami.received.filter((a) => a.action === 'QueueAdd')).toHaveLength(1);
    // The member view follows Asterisk's QueueMemberAdded event, which may land a moment later.
    await until(() => q.members({ queue: 'support' }).length === 1, 3000, 'the member event');
    expect(q.members({ queue: 'support' }).map((m) => m.extension)).toEqual(['1003']);
  });

  it("naming a real channel's Uniqueid does not help: another name, or a channel not in a feature-code context, is rejected", async () => {
    const { sim, store, logs } = await start();
    const crm = await otherAmiClient(sim);
    // A live feature-code channel of 1001 (its real Uniqueid), claimed as 1003's.
    await sim.dialExtension({ from: 'PJSIP/1001', context: 'from-internal', exten: '*44', lifetimeMs: 3000 });
    const feature = sim.pbx.channels().find((c) => c.name.startsWith('PJSIP/1001-'))!;
    await until(
      () => logs.lines.some((l) => l.msg === 'feature code refused' || l.msg === 'queue operation applied'),
      3000,
      'the real *44 handled',
    );
    crm.send(
      `Action: UserEvent\r\nUserEvent: AgentGate\r\nAction : login\r\nQueue: support\r\nChannel: PJSIP/1003-0000f0a9\r\nUniqueid: ${feature.id}\r\n\r\n`,
    );
    // The recorded set-up's [features] context (or an include from from-internal) is not a configured one.
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'features', exten: '*41' });
    await until(async () => (await store.queryAudit({ result: 'rejected' })).length === 2, 3000, 'both rejected');
    const reasons = (await store.queryAudit({ result: 'rejected' })).map((a) => String(a.detail.reason));
    expect(reasons).toContain(`channel ${feature.id} is ${feature.name}, not PJSIP/1003-0000f0a9`);
    expect(
      reasons.some((r) => /^channel PJSIP\/1003-[0-9a-f]+ is executing in context 'features', not a feature-code context/.test(r)),
    ).toBe(true);
    expect(sim.queues.members('support')).toEqual([]);
  });

  it('a server without ARI: feature-code UserEvents are refused with a clear log line', async () => {
    const { sim, logs } = await start({ withAri: false });
    expect(logs.has(/no ARI for this server: feature-code UserEvents from it will be refused/)).toBe(true);
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
    await until(
      () => logs.lines.some((l) => l.msg === 'feature-code UserEvent rejected' && /has no ARI configured/.test(String(l.reason))),
      3000,
      'refused',
    );
    expect(sim.queues.members('support')).toEqual([]);
  });
});

describe('#12.1 a feature code while the Store is down', () => {
  it("fails cleanly (logged, nothing sent), is audited once the Store is back naming the phone's owner, and the next feature code works", async () => {
    const { sim, store, logs } = await start();
    store.down = true;
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
    await until(() => logs.has('feature code not applied: the Store does not answer'), 3000, 'logged');
    expect(sim.ami.received.filter((a) => a.action === 'QueueAdd')).toHaveLength(0);
    store.down = false;
    await until(async () => (await store.queryAudit({ result: 'refused' })).length === 1, 3000, 'audited when the Store is back');
    // Named after the phone's owner, so an auditor (and bob, who sees his own records) finds it.
    expect((await store.queryAudit({ result: 'refused' }))[0]).toMatchObject({
      actor: 'bob',
      action: 'login',
      extension: '1003',
      detail: { source: 'dialplan', sent: false, error: { code: 'AGENTGATE_ERR_STORE' } },
    });
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
    await until(() => sim.queues.members('support').length === 1, 3000, 'the next one logs bob in');
  });
});

describe('#12.6 truthful outcomes when the Store fails', () => {
  it('Store down: refused before AMI with AGENTGATE_ERR_STORE, nothing sent; the refusal is audited when it is back', async () => {
    const { sim, store, q } = await start();
    store.down = true;
    const before = sim.ami.received.length;
    await expect(
      q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'http', ip: '127.0.0.1' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_STORE', status: 503 });
    expect(sim.ami.received.slice(before).map((a) => a.action)).toEqual([]);
    expect(sim.queues.members('support')).toEqual([]);
    store.down = false;
    await until(async () => (await store.queryAudit({ result: 'refused' })).length === 1, 3000, 'refusal audited');
  });

  it('the Store fails after Asterisk applied the operation: reported done, audit record written in order when the Store returns', async () => {
    const { sim, store, q, audit } = await start();
    store.auditDown = true;
    const r = await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'http', ip: '127.0.0.1' });
    expect(r).toMatchObject({ ok: true, ami: { message: 'Added interface to queue' } });
    expect(r.auditId).toBeUndefined();
    const p = await q.execute({
      actor: 'sam',
      action: 'pause',
      extension: '1001',
      queue: 'support',
      reason: 'lunch',
      source: 'http',
      ip: '127.0.0.1',
    });
    expect(p.ok).toBe(true);
    expect(sim.queues.members('support')[0]).toMatchObject({ paused: true, pausedReason: 'lunch' });
    expect(audit.stats()).toMatchObject({ buffered: 2, dropped: 0 });
    store.auditDown = false;
    await until(() => audit.stats().buffered === 0, 3000, 'buffer flushed');
    const rows = await store.queryAudit({ actor: 'sam' });
    expect(rows.map((a) => [a.action, a.result])).toEqual([
      ['pause', 'ok'],
      ['login', 'ok'],
    ]);
  });

  it('denied requests are audited even while the Store refuses writes', async () => {
    const { store, q } = await start();
    store.auditDown = true;
    await expect(
      q.execute({ actor: 'alice', action: 'login', extension: '1003', queue: 'support', source: 'http', ip: '127.0.0.1' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
    store.auditDown = false;
    await until(async () => (await store.queryAudit({ result: 'denied' })).length === 1, 3000, 'denial audited');
  });
});

describe('#12.2 / #12.13 malformed AMI messages', () => {
  it('a repeated UserEvent header (which asterisk-manager itself trips on) and a repeated Action are dropped; the service keeps working', async () => {
    const { sim, q, logs } = await start();
    sim.ami.sendRaw('Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: AgentGate\r\nUserEvent: AgentGate\r\nAction: login\r\n\r\n');
    sim.ami.sendRaw(
      'Event: UserEvent\r\nPrivilege: user,all\r\nChannel: PJSIP/1003-00000001\r\nUniqueid: 1.1\r\nUserEvent: AgentGate\r\nAction: login\r\nAction: logout\r\n\r\n',
    );
    await until(() => logs.lines.filter((l) => l.msg === 'malformed AMI event dropped').length === 2, 2000, 'both dropped');
    expect(logs.lines.filter((l) => l.msg === 'malformed AMI event dropped').map((l) => l.field)).toEqual(['userevent', 'action']);
    const r = await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
    expect(r.ok).toBe(true);
  });

  it('repeated headers in a QueueMember event never show up as arrays in members', async () => {
    const { sim, q, logs } = await start();
    sim.ami.sendRaw(
      'Event: QueueMemberAdded\r\nPrivilege: agent,all\r\nQueue: support\r\nMemberName: X\r\nInterface: PJSIP/1001\r\nStateInterface: PJSIP/1001\r\nMembership: dynamic\r\nPenalty: 0\r\nStatus: 1\r\nPaused: 1\r\nPausedReason: a\r\nPausedReason: b\r\n\r\n',
    );
    sim.ami.sendRaw(
      'Event: QueueMemberAdded\r\nPrivilege: agent,all\r\nQueue: support\r\nMemberName: Y\r\nInterface: PJSIP/1003\r\nPenalty: 2\r\nStatus: 1\r\nPaused: 0\r\nPausedReason: \r\n\r\n',
    );
    await until(() => q.members({ queue: 'support' }).length === 1, 2000, 'the well-formed one applied');
    expect(q.members({ queue: 'support' })).toEqual([
      expect.objectContaining({ interface: 'PJSIP/1003', memberName: 'Y', penalty: 2, paused: false, pausedReason: '' }),
    ]);
    expect(logs.lines.find((l) => l.msg === 'malformed AMI event dropped')).toMatchObject({
      field: 'pausedreason',
      event: 'QueueMemberAdded',
    });
  });

  it('fuzz: random header blocks (repeats, odd names, `Key : value`, missing fields, library traps) never throw and never put a bad value in member state', async () => {
    const { sim, q } = await start();
    const crm = await otherAmiClient(sim);
    const names = [
      'Event',
      'event',
      'EVENT',
      'Event ',
      'Queue',
      'Interface',
      'Location',
      'MemberName',
      'Name',
      'Penalty',
      'Paused',
      'PausedReason',
      'Status',
      'Membership',
      'StateInterface',
      'UserEvent',
      'Action',
      'Action ',
      'Channel',
      'Uniqueid',
      'ActionID',
      'Response',
      'Message',
      'toString',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'Variable',
      'ChanVariable',
      'EventList',
    ];
    const values = [
      'QueueMemberAdded',
      'QueueMemberPause',
      'QueueMemberRemoved',
      'QueueMemberPenalty',
      'QueueMemberStatus',
      'QueueMember',
      'UserEvent',
      'AgentGate',
      'FullyBooted',
      'error',
      'close',
      'end',
      'support',
      'PJSIP/1001',
      'PJSIP/1003',
      '0',
      '1',
      '-3',
      '1e9',
      'x=y',
      'a: b',
      '',
      ' ',
      'Success',
      'Error',
      'login',
      'hostile-1-1',
    ];
    const header = fc.tuple(
      fc.constantFrom(...names),
      fc.oneof(
        fc.constantFrom(...values),
        fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '').replace(/follow/gi, 'x')),
      ),
      fc.constantFrom(': ', ' : ', ':'),
    );
    const block = fc
      .array(header, { minLength: 1, maxLength: 12 })
      .map((hs) => hs.map(([k, v, sep]) => `${k}${sep}${v}`).join('\r\n') + '\r\n\r\n');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(block, { minLength: 1, maxLength: 8 }), async (blocks) => {
        for (const b of blocks) sim.ami.sendRaw(b);
        // A real member added after the batch (by another AMI client, so that a QueueStatus re-read
        // a fuzzed FullyBooted triggers keeps it too): once its event is applied, the batch was read.
        const iface = `PJSIP/fuzz${++n}`;
        crm.send(`Action: QueueAdd\r\nQueue: support\r\nInterface: ${iface}\r\n\r\n`);
        await until(
          () => q.connections()[0]!.connected && q.members({ queue: 'support' }).some((m) => m.interface === iface),
          3000,
          'the sentinel event',
        );
        for (const m of q.members()) {
          if (!memberTypesOk(m)) throw new Error(`bad member state: ${JSON.stringify(m)}`);
        }
      }),
      { numRuns: 60 },
    );
    // Still answering.
    expect((await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' })).ok).toBe(true);
  });
});

describe('#12.12 control characters never reach AMI', () => {
  it.each([
    ['NUL', '\u0000'],
    ['ESC', '\u001b'],
    ['VT', '\u000b'],
    ['FF', '\u000c'],
    ['DEL', '\u007f'],
  ])('%s in reason is refused naming the field; nothing reaches the socket', async (_name, ch) => {
    const { sim, q } = await start();
    await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
    const before = sim.ami.received.length;
    await expect(
      q.execute({ actor: 'sam', action: 'pause', extension: '1001', queue: 'support', reason: `lunch${ch}break`, source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_CRLF', field: 'reason' });
    expect(sim.ami.received.slice(before)).toEqual([]);
    // eslint-disable-next-line no-control-regex
    expect(sim.ami.received.every((a) => a.lines.every((l) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(l)))).toBe(true);
    expect(sim.queues.members('support')[0]?.paused).toBe(false);
  });

  it('TAB may pass', async () => {
    const { sim, q } = await start();
    await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
    await q.execute({ actor: 'sam', action: 'pause', extension: '1001', queue: 'support', reason: 'lunch\tbreak', source: 'dialplan' });
    expect(sim.queues.members('support')[0]).toMatchObject({ paused: true, pausedReason: 'lunch\tbreak' });
  });
});

describe('#12.7 AMI keepalive', () => {
  it('a frozen peer (connection open, nothing answered) is detected by Ping, dropped and reconnected; connected is false meanwhile', async () => {
    const { sim, q, logs } = await start({ ami: { pingIntervalMs: 200, actionTimeoutMs: 300 } });
    expect(q.connections()[0]!.connected).toBe(true);
    sim.ami.freeze();
    await until(() => !q.connections()[0]!.connected, 3000, 'frozen peer detected');
    expect(logs.has('AMI peer did not answer Ping: connection considered frozen; dropping and reconnecting')).toBe(true);
    await expect(
      q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_AMI_DISCONNECTED' });
    sim.ami.thaw();
    await until(() => q.connections()[0]!.connected, 8000, 'reconnected');
    expect((await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' })).ok).toBe(true);
  });
});
