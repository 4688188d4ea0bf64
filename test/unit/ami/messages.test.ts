/**
 * The AMI message schemas: whatever asterisk-manager hands over (repeated headers as arrays, objects
 * for Variable, inherited names like toString), decoding never throws and what it returns is typed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeEvent, decodeResponse, decodeStatusItem, ownFields } from '../../../src/adapters/ami/messages.js';

const MEMBER = {
  event: 'QueueMemberAdded',
  queue: 'support',
  interface: 'PJSIP/1001',
  membername: 'Alice',
  stateinterface: 'PJSIP/1001',
  membership: 'dynamic',
  penalty: '2',
  paused: '1',
  pausedreason: 'lunch',
  status: '1',
};

describe('AMI message schemas', () => {
  it.each([
    ['a repeated PausedReason', { ...MEMBER, pausedreason: ['a', 'b'] }, 'pausedreason'],
    ['a repeated Queue', { ...MEMBER, queue: ['support', 'sales'] }, 'queue'],
    ['no Interface', { ...MEMBER, interface: undefined }, 'interface'],
    ['a penalty that is not a number', { ...MEMBER, penalty: '-1' }, 'penalty'],
    ['Paused other than 0/1', { ...MEMBER, paused: 'yes' }, 'paused'],
    ['a repeated Event', { ...MEMBER, event: ['QueueMemberAdded', 'close'] }, 'event'],
    ['a Variable object where text is expected', { ...MEMBER, membername: { a: 'b' } }, 'membername'],
  ])('a member event with %s is malformed, naming the field', (_what, msg, field) => {
    const clean = Object.fromEntries(Object.entries(msg).filter(([, v]) => v !== undefined));
    expect(decodeEvent(clean)).toMatchObject({ ok: false, field });
  });

  it('a well-formed member event is typed', () => {
    expect(decodeEvent(MEMBER)).toEqual({
      ok: true,
      value: {
        kind: 'member',
        event: 'queuememberadded',
        member: {
          queue: 'support',
          interface: 'PJSIP/1001',
          memberName: 'Alice',
          stateInterface: 'PJSIP/1001',
          penalty: 2,
          paused: true,
          pausedReason: 'lunch',
          status: 1,
          dynamic: true,
        },
      },
    });
  });

  it('an AgentGate UserEvent with a repeated Action or UserEvent is malformed; other UserEvents are not read', () => {
    expect(decodeEvent({ event: 'UserEvent', userevent: 'AgentGate', action: ['login', 'logout'] })).toMatchObject({
      ok: false,
      field: 'action',
    });
    expect(decodeEvent({ event: 'UserEvent', userevent: ['AgentGate', 'AgentGate'], action: 'login' })).toMatchObject({
      ok: false,
      field: 'userevent',
    });
    expect(decodeEvent({ event: 'UserEvent', userevent: 'SomethingElse', action: ['x', 'y'] })).toBeUndefined();
    expect(
      decodeEvent({ event: 'UserEvent', userevent: 'agentgate', action: 'login', channel: 'PJSIP/1001-00000001', uniqueid: '1.2' }),
    ).toEqual({
      ok: true,
      value: { kind: 'feature', action: 'login', channel: 'PJSIP/1001-00000001', uniqueid: '1.2' },
    });
  });

  it('inherited names (toString, constructor) are not fields: ownFields keeps only what the message carries', () => {
    const item: Record<string, unknown> = { event: 'QueueMemberRemoved', queue: 'support', interface: 'PJSIP/1001' };
    // What asterisk-manager builds for a `__proto__: x` header: the object's prototype changes.
    Object.setPrototypeOf(item, ['x']);
    expect(decodeEvent(ownFields(item))).toEqual({
      ok: true,
      value: { kind: 'member-removed', queue: 'support', interface: 'PJSIP/1001' },
    });
  });

  it('fuzz: never throws, and whatever decodes has the declared types', () => {
    const keys = fc.constantFrom(
      'event',
      'queue',
      'interface',
      'location',
      'membername',
      'name',
      'penalty',
      'paused',
      'pausedreason',
      'status',
      'membership',
      'stateinterface',
      'userevent',
      'action',
      'channel',
      'uniqueid',
      'response',
      'message',
      'toString',
      'constructor',
      '__proto__',
    );
    const value = fc.oneof(
      fc.constantFrom(
        'QueueMemberAdded',
        'QueueMemberRemoved',
        'QueueMember',
        'UserEvent',
        'AgentGate',
        'FullyBooted',
        'Success',
        '0',
        '1',
        '12',
        '',
      ),
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.string(), fc.string()),
      fc.anything(),
    );
    fc.assert(
      fc.property(fc.dictionary(keys, value), (raw) => {
        const msg = ownFields(raw);
        const e = decodeEvent(msg);
        if (e?.ok && e.value.kind === 'member') {
          const m = e.value.member;
          expect([m.queue, m.interface, m.memberName, m.stateInterface, m.pausedReason].every((s) => typeof s === 'string')).toBe(true);
          expect(Number.isInteger(m.penalty) && Number.isInteger(m.status)).toBe(true);
        }
        if (e?.ok && e.value.kind === 'feature') for (const v of Object.values(e.value)) expect(typeof v).toBe('string');
        const s = decodeStatusItem(msg);
        if (s?.ok) expect(typeof s.value.interface).toBe('string');
        const r = decodeResponse(msg);
        if (r.ok) expect(typeof r.value.response === 'string' && typeof r.value.message === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
