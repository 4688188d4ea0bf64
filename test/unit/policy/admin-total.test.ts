/**
 * Policy changes arrive as API bodies: whatever they hold, authorizeChange / applyChange /
 * changePolicy answer with a decision or errors naming the field, never a throw (issue 12 #10).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyChange, authorizeChange, changePolicy, parsePolicyChange, type PolicyChange } from '../../../src/domain/policy/index.js';
import { loadPolicy } from './fixture.js';

const policy = loadPolicy();
const asChange = (x: unknown): PolicyChange => x as PolicyChange;

describe('policy changes from untrusted data', () => {
  const malformed: Array<[string, unknown, string]> = [
    ['put-user without user', { op: 'put-user' }, 'user'],
    ['put-user with a string user', { op: 'put-user', user: 'x' }, 'user'],
    ['add-grant with grant null', { op: 'add-grant', grant: null }, 'grant'],
    ['add-grant without grant', { op: 'add-grant' }, 'grant'],
    ['put-user without role', { op: 'put-user', user: { id: 'zed', scope: 'basic_user' } }, 'user.role'],
    ['put-group with members not a list', { op: 'put-group', group: { id: 'g', members: 'bob' } }, 'group.members'],
    ['remove-user without id', { op: 'remove-user' }, 'id'],
    ['unknown op', { op: 'drop-table' }, 'op'],
    ['no op', {}, 'op'],
  ];
  for (const [name, change, path] of malformed) {
    it(`${name}: denied naming ${path}, no throw`, () => {
      const d = authorizeChange(policy, 'oscar', asChange(change));
      expect(d.allowed).toBe(false);
      expect(d.reasons.find((r) => !r.passed)?.detail).toMatch(new RegExp(`^${path.replace(/\./g, '\\.')}: `));
      const r = changePolicy(policy, 'oscar', asChange(change));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(path);
      expect(applyChange(policy.doc, asChange(change)).ok).toBe(false);
    });
  }

  it.each([null, [], 'put-user', 42])('a change that is not a mapping (%j) is refused at its root, naming what it must be', (raw) => {
    expect(parsePolicyChange(raw)).toEqual({ ok: false, errors: [{ path: '(root)', message: 'must be a mapping with op' }] });
  });

  it('a well-formed put-user gets the document defaults (flags, lists)', () => {
    const r = parsePolicyChange({ op: 'put-user', user: { id: 'zed', role: 'agent', scope: 'basic_user' } });
    expect(r.ok && r.value.op === 'put-user' && r.value.user).toMatchObject({
      groups: [],
      extensions: [],
      addresses: [],
      flags: { inbound: false, ipAllow: [] },
    });
  });

  it('fuzz: authorizeChange and changePolicy never throw, whatever the change holds', () => {
    const ops = fc.constantFrom(
      'add-grant',
      'remove-grant',
      'put-user',
      'remove-user',
      'put-group',
      'remove-group',
      'put-extension',
      'remove-extension',
      'put-queue',
      'remove-queue',
      'x',
    );
    const field = fc.constantFrom(
      'id',
      'user',
      'grant',
      'group',
      'extension',
      'queue',
      'role',
      'groups',
      'members',
      'actions',
      'targets',
      'subject',
      'flags',
      'scope',
    );
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.dictionary(field, tie('v'), { maxKeys: 5 }),
        fc.array(tie('v'), { maxLength: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(
        fc.record({ op: ops }, { requiredKeys: [] }),
        fc.dictionary(field, value, { maxKeys: 4 }),
        fc.constantFrom('oscar', 'olivia', 'bob', 'nobody'),
        (base, rest, actor) => {
          const change = asChange({ ...rest, ...base });
          expect(() => authorizeChange(policy, actor, change)).not.toThrow();
          expect(() => changePolicy(policy, actor, change)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});
