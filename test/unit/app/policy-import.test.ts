/**
 * The import planner: a whole document becomes the changes an admin could have sent one by one, in
 * an order where every intermediate document is valid, each checked by the administration rules.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, parsePolicyDoc, type PolicyDoc } from '../../../src/domain/policy/index.js';
import { planUserImport } from '../../../src/app/policy-import.js';
import { describeDiff, diffPolicies } from '../../../src/app/policy-diff.js';
import { AgentgateError } from '../../../src/errors/codes.js';

const ALL = ['login', 'logout', 'pause', 'unpause', 'penalty'];

function doc(raw: unknown): PolicyDoc {
  const r = parsePolicyDoc(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const BASE = {
  users: [
    { id: 'olivia', name: 'O', role: 'administrator', scope: 'office_manager' },
    { id: 'alice', name: 'A', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1001'] },
    { id: 'bob', name: 'B', role: 'agent', scope: 'call_center_agent', extensions: ['1002'] },
  ],
  groups: [{ id: 'team', members: [], supervisors: [] }],
  extensions: [
    { id: '1001', interface: 'PJSIP/1001' },
    { id: '1002', interface: 'PJSIP/1002' },
    { id: '1003', interface: 'PJSIP/1003' },
  ],
  queues: [{ id: 'support' }],
  grants: [
    { id: 'admin', subject: 'user:olivia', actions: ALL, targets: ['extension:1001', 'extension:1002', 'extension:1003', 'queue:support'] },
    { id: 'team-login', subject: 'group:team', actions: ['login'], targets: ['group:team', 'queue:support'] },
  ],
};

describe('planUserImport', () => {
  const current = compilePolicy(doc(BASE), 4);

  it('a new user in a new group that lists it back, an extension moved between users, a changed and a removed grant: one valid sequence', () => {
    const target = doc({
      ...BASE,
      users: [
        BASE.users[0],
        { ...BASE.users[1], extensions: ['1001', '1002'] },
        { ...BASE.users[2], extensions: [] },
        { id: 'carol', name: 'C', role: 'agent', scope: 'call_center_agent', groups: ['night'], extensions: ['1003'] },
      ],
      groups: [...BASE.groups, { id: 'night', members: ['carol'], supervisors: [] }],
      grants: [
        BASE.grants[0],
        { id: 'night-login', subject: 'group:night', actions: ['login'], targets: ['group:night', 'queue:support'] },
      ],
    });
    const steps = planUserImport(current, target, 'olivia');
    expect(steps).toContain('put-user carol');
    expect(steps).toContain('put-group night');
    expect(steps).toContain('add-grant night-login');
    expect(steps).toContain('remove-grant team-login');
    expect(steps.indexOf('remove-grant team-login')).toBeGreaterThan(steps.indexOf('add-grant night-login'));
  });

  it('an admin may edit the grant its own rights come from (its new form is checked before the old one goes)', () => {
    const target = doc({ ...BASE, grants: [{ ...BASE.grants[0], actions: ['login', 'logout'] }, BASE.grants[1]] });
    expect(planUserImport(current, target, 'olivia')).toEqual(['remove-grant admin', 'add-grant admin']);
  });

  it('refusals name the change and the failed rule: an agent; a right the admin does not hold; a role above its own', () => {
    const target = doc({
      ...BASE,
      grants: [...BASE.grants, { id: 'x', subject: 'user:bob', actions: ['login'], targets: ['user:bob', 'queue:support'] }],
    });
    expect(() => planUserImport(current, target, 'alice')).toThrow(/add-grant x: admin-role/);
    const wider = doc({
      ...BASE,
      queues: [...BASE.queues, { id: 'sales' }],
      grants: [...BASE.grants, { id: 'y', subject: 'user:bob', actions: ['login'], targets: ['queue:sales'] }],
    });
    expect(() => planUserImport(current, wider, 'olivia')).toThrow(/add-grant y: no-escalation/);
    const owner = doc({ ...BASE, users: [...BASE.users, { id: 'zed', name: 'Z', role: 'owner', scope: 'office_manager' }] });
    try {
      planUserImport(current, owner, 'olivia');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AgentgateError);
      expect((err as AgentgateError).code).toBe('AGENTGATE_ERR_POLICY_ADMIN');
      expect((err as AgentgateError).message).toContain('put-user zed');
    }
  });

  it('removals: grant, then user, group, extension, queue', () => {
    const noTeam = {
      ...BASE,
      users: BASE.users.slice(0, 2).map((u) => ({ ...u, groups: [] })),
      groups: [],
      queues: [],
      extensions: BASE.extensions.slice(0, 1),
      grants: [],
    };
    const steps = planUserImport(current, doc(noTeam), 'olivia');
    const order = ['remove-grant admin', 'remove-user bob', 'remove-group team', 'remove-extension 1002', 'remove-queue support'].map((x) =>
      steps.indexOf(x),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(describeDiff(diffPolicies(current.doc, doc(noTeam)))).toBe(
      '2 users differ (-1 ~1), 1 group differs (-1), 2 extensions differ (-2), 1 queue differs (-1), 2 grants differ (-2)',
    );
  });
});
