/**
 * Who reaches whom, and through what: queues versus groups that share a name, supervisors of several
 * groups, office managers of several PBXs, and documents compiled with dangling references.
 */
import { describe, expect, it } from 'vitest';
import {
  capabilities,
  compilePolicy,
  decide,
  DEFAULT_FLAGS,
  type DecisionRequest,
  type PolicyDoc,
} from '../../../src/domain/policy/index.js';
import { ext, grant, group, policyOf, queue, user } from './directory.js';

/** A group and a queue both called `crew`: a target names one or the other, never both. */
const crew = () =>
  policyOf({
    users: [
      user('sup', 'supervisor', { scope: 'call_center_supervisor' }),
      user('sup2', 'supervisor', { scope: 'call_center_supervisor' }),
      user('m', 'manager', { scope: 'office_manager' }),
      user('x', 'agent', { extensions: ['x1'] }),
      user('y', 'agent', { extensions: ['y1'] }),
      user('z', 'agent', { extensions: ['z1'] }),
    ],
    groups: [group('crew', ['y'])],
    extensions: [ext('x1'), ext('y1'), ext('z1')],
    queues: [queue('crew')],
    grants: [
      grant('x-login', 'user:x', ['login'], ['queue:crew', 'extension:x1']),
      grant('z-login', 'user:z', ['login'], ['group:crew', 'extension:z1']),
      grant('sup-group', 'user:sup', ['pause'], ['group:crew']),
      grant('sup2-queue', 'user:sup2', ['pause'], ['queue:crew']),
      grant('m-queue', 'user:m', ['pause', 'login'], ['queue:crew']),
    ],
  });
const scope = (p: ReturnType<typeof crew>, actor: string, extension: string): boolean =>
  decide(p, { actor, action: 'pause', extension }).reasons.find((r) => r.name === 'scope')!.passed;

describe('a group and a queue with the same name', () => {
  it('a supervisor whose grant names the group reaches no agent of the queue', () => {
    expect(scope(crew(), 'sup', 'x1')).toBe(false);
  });

  it('the agents of a queue are those a grant lets log into the queue, not into the group of that name', () => {
    const p = crew();
    expect(scope(p, 'sup2', 'x1')).toBe(true);
    expect(scope(p, 'sup2', 'z1')).toBe(false);
  });

  it('capabilities: a queue target gives no extension of the group’s members; a group target gives no queue', () => {
    const p = crew();
    expect(capabilities(p, 'm').actions.pause.extensions).toEqual([]);
    expect(capabilities(p, 'z').actions.login).toEqual({ extensions: [], queues: [] });
  });
});

describe('several groups, several PBXs', () => {
  const many = () =>
    policyOf({
      users: [
        user('sam', 'supervisor', { scope: 'call_center_supervisor', extensions: ['s1'] }),
        user('al', 'agent', { groups: ['red'], extensions: ['a1'] }),
        user('bo', 'agent', { groups: ['blue'], extensions: ['b1'] }),
        user('cy', 'agent', { extensions: ['c1'] }),
        user('om', 'manager', { scope: 'office_manager', extensions: ['o1', 'o2'] }),
        user('hot', 'manager', { scope: 'office_manager', extensions: ['h1'] }),
      ],
      groups: [group('red', [], ['sam']), group('blue', [], ['sam'])],
      extensions: [ext('s1'), ext('a1', 'pbx1'), ext('b1', 'pbx2'), ext('c1', 'pbx3'), ext('o1', 'pbx1'), ext('o2', 'pbx2'), ext('h1')],
      grants: [
        grant('red-first', 'group:red', ['pause'], ['extension:a1']),
        grant('al-own', 'user:al', ['pause'], ['extension:a1']),
        grant('sam', 'user:sam', ['pause'], ['group:red', 'group:blue', 'user:cy']),
      ],
    });

  it('a supervisor of two groups acts on the members of both, and names both when refused', () => {
    const p = many();
    expect(decide(p, { actor: 'sam', action: 'pause', extension: 'a1' }).allowed).toBe(true);
    expect(decide(p, { actor: 'sam', action: 'pause', extension: 'b1' }).allowed).toBe(true);
    expect(decide(p, { actor: 'sam', action: 'pause', extension: 'c1' }).reasons.find((r) => r.name === 'supervision')?.detail).toBe(
      'supervisor sam acts only on members of the groups it supervises (red, blue); cy is not one',
    );
  });

  it('an office manager covers the PBXs of its extensions and names them all when refused', () => {
    const p = many();
    const d = (extension: string): DecisionRequest => ({ actor: 'om', action: 'pause', extension });
    expect(decide(p, d('b1')).reasons.find((r) => r.name === 'scope')?.passed).toBe(true);
    expect(decide(p, d('c1')).reasons.find((r) => r.name === 'scope')).toMatchObject({
      passed: false,
      detail: 'scope office_manager covers PBX pbx1, pbx2, and extension c1 is on pbx3',
    });
  });

  it('an office manager whose only extension has no server covers every PBX', () => {
    expect(decide(many(), { actor: 'hot', action: 'pause', extension: 'c1' }).reasons.find((r) => r.name === 'scope')?.passed).toBe(true);
  });

  it('grants that match are listed in document order even when the actor’s own grant comes after its group’s', () => {
    const d = decide(many(), { actor: 'al', action: 'pause', extension: 'a1' });
    expect(d.reasons.find((r) => r.name === 'extension-grant')?.grants).toEqual(['red-first', 'al-own']);
    expect(d.matched).toEqual(['red-first', 'al-own']);
  });
});

describe('decisions do not wear out', () => {
  it('the same question asked again, after others, gets the same answer (nothing cached is changed by a decision)', () => {
    const p = policyOf({
      users: [user('m', 'manager', { scope: 'office_manager' }), user('a', 'agent', { groups: ['g'], extensions: ['1'] })],
      groups: [group('g')],
      extensions: [ext('1')],
      queues: [queue('q')],
      grants: [
        grant('e', 'user:m', ['login'], ['extension:1', 'queue:q']),
        grant('u', 'user:m', ['login'], ['user:a']),
        grant('gr', 'user:m', ['login'], ['group:g']),
      ],
    });
    const req: DecisionRequest = { actor: 'm', action: 'login', extension: '1', queue: 'q' };
    const first = decide(p, req);
    expect(first.matched).toEqual(['e', 'u', 'gr']);
    decide(p, req);
    expect(decide(p, req)).toEqual(first);
    expect(decide(p, req).reasons.find((r) => r.name === 'queue-grant')?.grants).toEqual(['e']);
  });

  it('a decision on a member of two groups leaves no trace on the next one about a member of one of them', () => {
    const p = policyOf({
      users: [
        user('m', 'manager', { scope: 'office_manager' }),
        user('p', 'agent', { groups: ['g1', 'g2'], extensions: ['1'] }),
        user('r', 'agent', { groups: ['g1'], extensions: ['2'] }),
      ],
      groups: [group('g1'), group('g2')],
      extensions: [ext('1'), ext('2')],
      grants: [grant('G1', 'user:m', ['pause'], ['group:g1']), grant('G2', 'user:m', ['pause'], ['group:g2'])],
    });
    expect(decide(p, { actor: 'm', action: 'pause', extension: '1' }).matched).toEqual(['G1', 'G2']);
    expect(decide(p, { actor: 'm', action: 'pause', extension: '2' }).matched).toEqual(['G1']);
  });
});

describe('what the target check says', () => {
  const p = () =>
    policyOf({
      users: [user('m', 'manager', { scope: 'office_manager' })],
      extensions: [ext('nowhere'), ext('one', 'pbx1')],
      queues: [queue('q1', 'pbx1'), queue('any')],
    });
  it.each([
    { extension: 'nowhere', queue: 'q1', says: 'extension nowhere, queue q1' },
    { extension: 'one', queue: 'any', says: 'extension one, queue any' },
    { extension: '999', queue: 'q1', says: "unknown extension '999'" },
  ])('$extension in $queue: $says', ({ extension, queue: q, says }) => {
    expect(decide(p(), { actor: 'm', action: 'login', extension, queue: q }).reasons.find((r) => r.name === 'target')?.detail).toBe(says);
  });
});

describe('compiling a document with dangling references (not from parsePolicyDoc)', () => {
  it('skips what does not exist instead of failing', () => {
    const doc: PolicyDoc = {
      users: [
        {
          id: 'a',
          name: 'a',
          role: 'manager',
          scope: 'office_manager',
          groups: ['ghost-group'],
          extensions: ['1', 'ghost-ext'],
          addresses: [],
          flags: { ...DEFAULT_FLAGS, ipAllow: [] },
        },
      ],
      groups: [{ id: 'g', members: ['ghost-user'], supervisors: [] }],
      extensions: [{ id: '1', interface: 'PJSIP/1', server: 'pbx1' }],
      queues: [],
      grants: [
        { id: 'dangling-subject', subject: 'user:ghost', actions: ['pause'], targets: ['extension:1'] },
        {
          id: 'dangling-target',
          subject: 'user:a',
          actions: ['pause'],
          targets: ['extension:ghost', 'user:ghost', 'group:ghost', 'group:g', 'extension:1'],
        },
      ],
    };
    const p = compilePolicy(doc);
    expect([...p.index.users.get('a')!.groups]).toEqual([]);
    expect([...p.index.groups.get('g')!.members]).toEqual(['ghost-user']);
    expect(decide(p, { actor: 'a', action: 'pause', extension: '1' })).toMatchObject({ allowed: true, matched: ['dangling-target'] });
    expect(p.index.users.get('a')!.pbx).toEqual(new Set(['pbx1']));
    expect(capabilities(p, 'a').actions.pause.extensions).toEqual(['1']);
  });
});
