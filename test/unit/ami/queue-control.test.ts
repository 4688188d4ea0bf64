/** The AMI spelling of queue commands and the meaning of Asterisk's answers (recordings/ami/queue-member-lifecycle.jsonl). */
import { describe, expect, it } from 'vitest';
import { amiAction, refusalOf } from '../../../src/adapters/ami/queue-control.js';

describe('AMI queue control', () => {
  it('spells each command as its AMI action; a paused login is one QueueAdd with Paused and Reason', () => {
    expect(
      amiAction({
        op: 'add',
        queue: 'support',
        interface: 'PJSIP/1001',
        memberName: 'Alice',
        stateInterface: 'PJSIP/1001',
        paused: true,
        reason: 'training',
      }),
    ).toEqual({
      action: 'QueueAdd',
      queue: 'support',
      interface: 'PJSIP/1001',
      membername: 'Alice',
      stateinterface: 'PJSIP/1001',
      penalty: undefined,
      paused: 'true',
      reason: 'training',
    });
    expect(amiAction({ op: 'remove', queue: 'support', interface: 'PJSIP/1001' })).toEqual({
      action: 'QueueRemove',
      queue: 'support',
      interface: 'PJSIP/1001',
    });
    expect(amiAction({ op: 'pause', interface: 'PJSIP/1001', paused: false, reason: 'ignored when unpausing' })).toMatchObject({
      action: 'QueuePause',
      paused: 'false',
      reason: undefined,
    });
    expect(amiAction({ op: 'penalty', queue: 'support', interface: 'PJSIP/1001', penalty: 0 })).toMatchObject({
      action: 'QueuePenalty',
      penalty: '0',
    });
  });

  it.each([
    ['Unable to add interface to queue: No such queue', 'no-such-queue'],
    ['Unable to add interface: Already there', 'already-member'],
    ['Unable to remove interface: Not there', 'not-member'],
    ['Unable to remove interface: Not dynamic', 'not-dynamic'],
    ['Interface not found', 'interface-not-found'],
    ['Invalid interface, queuename or penalty', 'invalid-penalty'],
    ['Something else', 'other'],
  ])('%s → %s', (message, refusal) => {
    expect(refusalOf(message)).toBe(refusal);
  });
});
