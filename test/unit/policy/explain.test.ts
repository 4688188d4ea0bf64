/** How a decision reads for people (`agentgate explain`, logs): the request in words, failing checks first. */
import { describe, expect, it } from 'vitest';
import { describeRequest, explain, type Decision, type DecisionRequest } from '../../../src/domain/policy/index.js';

describe('describeRequest', () => {
  it.each([
    {
      req: { actor: 'alice', action: 'login', extension: '1001', queue: 'support' },
      says: 'alice login extension 1001 into queue support',
    },
    {
      req: { actor: 'alice', action: 'logout', extension: '1001', queue: 'support' },
      says: 'alice logout extension 1001 out of queue support',
    },
    { req: { actor: 'alice', action: 'pause', extension: '1001', queue: 'support' }, says: 'alice pause extension 1001 in queue support' },
    { req: { actor: 'alice', action: 'penalty', extension: '1001' }, says: 'alice penalty extension 1001' },
    { req: { actor: 'alice', action: 'unpause', extension: '1001', ip: '10.0.0.1' }, says: 'alice unpause extension 1001 from 10.0.0.1' },
    { req: { actor: 'bob', action: 'login', extension: '7', queue: 'q', ip: '::1' }, says: 'bob login extension 7 into queue q from ::1' },
  ] satisfies Array<{ req: DecisionRequest; says: string }>)('$says', ({ req, says }) => {
    expect(describeRequest(req)).toBe(says);
  });
});

describe('explain', () => {
  const req: DecisionRequest = { actor: 'night1', action: 'login', extension: '2001', queue: 'late' };

  it('a denial: the verdict, then the failing checks, then the passing ones with their grants, then the matched grants', () => {
    const d: Decision = {
      allowed: false,
      reasons: [
        { name: 'actor', passed: true, detail: 'night1 (agent, call_center_agent)' },
        { name: 'extension-grant', passed: true, detail: 'login extension:2001', grants: ['night-self', 'other'] },
        { name: 'queue-grant', passed: false, detail: 'no grant lets user:night1 or group:night login queue:late' },
        { name: 'scope', passed: false, detail: 'x' },
      ],
      matched: ['night-self', 'other'],
    };
    expect(explain(d, req)).toBe(
      [
        'DENIED: night1 login extension 2001 into queue late',
        '  ✗ queue-grant: no grant lets user:night1 or group:night login queue:late',
        '  ✗ scope: x',
        '  ✓ actor: night1 (agent, call_center_agent)',
        '  ✓ extension-grant: login extension:2001 [grant night-self, other]',
        '  matched grants: night-self, other',
      ].join('\n'),
    );
  });

  it('an allowed decision with no matched grant and an empty grant list says no grant', () => {
    const d: Decision = { allowed: true, reasons: [{ name: 'actor', passed: true, detail: 'a', grants: [] }], matched: [] };
    expect(explain(d, { actor: 'a', action: 'pause', extension: '1' })).toBe('ALLOWED: a pause extension 1\n  ✓ actor: a');
  });

  it('a denial with no failing check says it was denied by default', () => {
    const d: Decision = { allowed: false, reasons: [{ name: 'actor', passed: true, detail: 'a' }], matched: [] };
    expect(explain(d, { actor: 'a', action: 'pause', extension: '1' })).toBe(
      'DENIED: a pause extension 1\n  ✓ actor: a\n  ✗ default: no check allowed it (deny by default)',
    );
  });
});
