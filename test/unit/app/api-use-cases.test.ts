/** The API's use cases moved out of the HTTP adapter: authentication, explain for others, audit scoping (roles by the domain's order). */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { createTokenService } from '../../../src/app/tokens.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { authenticateCaller } from '../../../src/app/api-auth.js';
import { explainForCaller } from '../../../src/app/policy-explain.js';
import { auditForCaller } from '../../../src/app/audit-view.js';
import { manualClock } from '../../support/manual-clock.js';

const { directory } = validateConfig({
  servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: 5038, username: 'u', secret: 's' } }],
  directory: {
    users: [
      { id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', extensions: ['1001'], flags: { ipAllow: ['10.0.3.%'] } },
      { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor' },
      { id: 'mia', name: 'Mia', role: 'manager', scope: 'office_manager' },
      { id: 'nop', name: 'Nop', role: 'agent', scope: 'no_portal' },
    ],
    extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
    queues: [{ id: 'support' }],
  },
});

function rig() {
  const clock = manualClock();
  const store = createMemoryStore({ clock });
  return { clock, store, policy: createPolicyHolder(directory), tokens: createTokenService({ store, clock }) };
}

describe('API use cases', () => {
  it('authentication: unknown token, no_portal scope and an address outside the allow-list are refused with their codes', async () => {
    const r = rig();
    const alice = await r.tokens.issue('alice', 't');
    const nop = await r.tokens.issue('nop', 't');
    await expect(authenticateCaller(r, undefined, '10.0.3.1')).rejects.toMatchObject({ code: 'AGENTGATE_ERR_UNAUTHENTICATED' });
    await expect(authenticateCaller(r, 'agt_nope', '10.0.3.1')).rejects.toMatchObject({ code: 'AGENTGATE_ERR_UNAUTHENTICATED' });
    await expect(authenticateCaller(r, nop, '10.0.3.1')).rejects.toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
    await expect(authenticateCaller(r, alice, '10.0.4.1')).rejects.toMatchObject({ code: 'AGENTGATE_ERR_IP_NOT_ALLOWED' });
    await expect(authenticateCaller(r, alice, '::ffff:10.0.3.9')).resolves.toMatchObject({ id: 'alice' });
  });

  it('explain for another user takes a manager or above; oneself is always allowed', () => {
    const p = rig().policy.current();
    const q = { user: 'alice', action: 'pause' as const, extension: '1001' };
    expect(() => explainForCaller(p, 'sam', q, '10.0.3.1')).toThrow(
      expect.objectContaining({ code: 'AGENTGATE_ERR_FORBIDDEN', field: 'user' }) as Error,
    );
    expect(explainForCaller(p, 'mia', q, '10.0.3.1')).toMatchObject({ allowed: false, text: expect.any(String) as unknown });
    expect(explainForCaller(p, 'alice', { action: 'pause', extension: '1001' }, '10.0.3.1').text).toContain('alice');
  });

  it("agents read only their own audit records; supervisors and above read everyone's", async () => {
    const r = rig();
    for (const actor of ['alice', 'sam'])
      await r.store.appendAudit({ kind: 'queue-op', at: r.clock.now(), actor, action: 'pause', result: 'ok', detail: {} });
    expect((await auditForCaller(r, 'alice', {})).map((e) => e.actor)).toEqual(['alice']);
    expect((await auditForCaller(r, 'sam', {})).map((e) => e.actor).sort()).toEqual(['alice', 'sam']);
  });
});
