/**
 * The queue use case on a fake QueueControl (no sockets, milliseconds): what it sends for each
 * request, what it makes of Asterisk's answers, and how member state follows the port's events.
 */
import { describe, expect, it } from 'vitest';
import { startQueueService, type QueueService } from '../../../src/app/queue-service.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { silentLogger } from '../../../src/log.js';
import type { QueueAnswer, QueueCommand, QueueControl, QueueControlEvent, QueueMemberState } from '../../../src/ports/queue-control.js';
import { validateConfig } from '../../../src/config/load.js';
import { manualClock } from '../../support/manual-clock.js';
import { captureLogs } from '../../support/log-capture.js';

interface FakePbx extends QueueControl {
  sent: QueueCommand[];
  answer: (cmd: QueueCommand) => QueueAnswer;
  snapshot: QueueMemberState[];
  emit(e: QueueControlEvent): void;
}

function fakePbx(server = 'pbx1'): FakePbx {
  let listener: ((e: QueueControlEvent) => void) | undefined;
  const pbx: FakePbx = {
    server,
    sent: [],
    answer: () => ({ response: 'Success', message: 'done' }),
    snapshot: [],
    emit: (e) => listener?.(e),
    start(onEvent) {
      listener = onEvent;
      onEvent({ kind: 'connected', after: 'login' });
    },
    waitConnected: async () => undefined,
    connection: () => ({ connected: true, since: 1 }),
    check: () => undefined,
    async send(cmd) {
      pbx.sent.push(cmd);
      return pbx.answer(cmd);
    },
    members: async () => pbx.snapshot,
    stop: () => undefined,
  };
  return pbx;
}

const { directory: doc } = validateConfig({
  servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: 5038, username: 'u', secret: 's' } }],
  directory: {
    users: [
      { id: 'alice', name: 'Alice Agent', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1001'] },
      { id: 'sam', name: 'Sam Supervisor', role: 'supervisor', scope: 'call_center_supervisor' },
    ],
    groups: [{ id: 'team', members: ['alice'], supervisors: ['sam'] }],
    extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
    queues: [{ id: 'support' }],
    grants: [
      {
        id: 'sam-team',
        subject: 'user:sam',
        actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
        targets: ['group:team', 'queue:support'],
      },
    ],
  },
});

const member = (over: Partial<QueueMemberState> = {}): QueueMemberState => ({
  queue: 'support',
  interface: 'PJSIP/1001',
  memberName: 'Alice Agent',
  stateInterface: 'PJSIP/1001',
  penalty: 0,
  paused: false,
  pausedReason: '',
  status: 1,
  dynamic: true,
  ...over,
});

async function start(pbx: FakePbx, logger = silentLogger()): Promise<QueueService> {
  const clock = manualClock();
  return startQueueService({
    pbx: [pbx],
    servers: [{ name: pbx.server }],
    store: createMemoryStore({ clock }),
    policy: createPolicyHolder(doc),
    clock,
    logger,
  });
}

describe('queue service on a fake QueueControl', () => {
  it('login with a pause reason is one add command carrying paused and reason', async () => {
    const pbx = fakePbx();
    const q = await start(pbx);
    const r = await q.execute({
      actor: 'sam',
      action: 'login',
      extension: '1001',
      queue: 'support',
      paused: true,
      reason: 'training',
      source: 'dialplan',
    });
    expect(r).toMatchObject({ ok: true, server: 'pbx1', interface: 'PJSIP/1001', ami: { response: 'Success', message: 'done' } });
    expect(pbx.sent).toEqual([
      {
        op: 'add',
        queue: 'support',
        interface: 'PJSIP/1001',
        memberName: 'Alice Agent',
        stateInterface: 'PJSIP/1001',
        paused: true,
        reason: 'training',
      },
    ]);
    await q.stop();
  });

  it('a denied request never reaches the port', async () => {
    const pbx = fakePbx();
    const q = await start(pbx);
    await expect(
      q.execute({ actor: 'alice', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
    expect(pbx.sent).toEqual([]);
    await q.stop();
  });

  it("Asterisk's refusals become their codes; logout of a member that is not there is done", async () => {
    const pbx = fakePbx();
    const q = await start(pbx);
    pbx.answer = () => ({ response: 'Error', message: 'Unable to add interface: Already there', refusal: 'already-member' });
    await expect(
      q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_QUEUE_ALREADY_MEMBER', status: 409 });
    pbx.answer = () => ({ response: 'Error', message: 'Unable to remove interface: Not there', refusal: 'not-member' });
    const out = await q.execute({ actor: 'sam', action: 'logout', extension: '1001', queue: 'support', source: 'dialplan' });
    expect(out.ami).toEqual({ response: 'Error', message: 'Unable to remove interface: Not there', alreadyDone: true });
    await expect(
      q.execute({ actor: 'sam', action: 'pause', extension: '1001', queue: 'support', source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_QUEUE_NOT_MEMBER' });
    await q.stop();
  });

  it('members follow the events, and a re-read after (re)connect replaces them', async () => {
    const pbx = fakePbx();
    pbx.snapshot = [member()];
    const q = await start(pbx);
    expect(q.members()).toMatchObject([{ server: 'pbx1', queue: 'support', extension: '1001', user: 'alice', paused: false }]);
    pbx.emit({ kind: 'member-changed', member: member({ paused: true, pausedReason: 'lunch' }) });
    expect(q.members()).toMatchObject([{ paused: true, pausedReason: 'lunch' }]);
    pbx.emit({ kind: 'member-removed', queue: 'support', interface: 'PJSIP/1001' });
    expect(q.members()).toEqual([]);
    pbx.snapshot = [member({ penalty: 3 })];
    pbx.emit({ kind: 'connected', after: 'fully-booted' });
    await expect.poll(() => q.members()).toMatchObject([{ penalty: 3 }]);
    await q.stop();
  });

  it("a failed member re-read is logged with pino's err serializer: type, message and stack", async () => {
    const pbx = fakePbx();
    pbx.members = () => Promise.reject(new Error('QueueStatus got no answer'));
    const logs = captureLogs();
    const q = await start(pbx, logs.logger);
    const line = logs.lines.find((l) => l.msg === 'QueueStatus failed');
    expect(line?.err).toMatchObject({
      type: 'Error',
      message: 'QueueStatus got no answer',
      stack: expect.stringContaining('QueueStatus got no answer') as unknown,
    });
    await q.stop();
  });
});
