import { beforeEach, describe, expect, it } from 'vitest';
import { capabilities, type CompiledPolicy } from '../../../src/domain/policy/index.js';
import { loadPolicy } from './fixture.js';

let policy: CompiledPolicy;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  policy = loadPolicy();
});

describe('capabilities', () => {
  it('call centre agent: its own extension, its granted queue, pause without queue permission, no penalty', () => {
    const c = capabilities(policy, 'alice');
    expect(c.queueButton).toBe(true);
    expect(c.actions.login).toEqual({ extensions: ['1001'], queues: ['support'] });
    expect(c.actions.logout).toEqual({ extensions: ['1001'], queues: ['support'] });
    expect(c.actions.pause).toEqual({ extensions: ['1001'], queues: ['support', 'sales'] });
    expect(c.actions.penalty).toEqual({ extensions: [], queues: [] });
  });

  it('hides the Queue action button when nothing is possible', () => {
    for (const u of ['basil', 'nina', 'ghost']) expect(capabilities(policy, u).queueButton, u).toBe(false);
  });

  it('a queue grant without any extension grant gives no button', () => {
    const c = capabilities(policy, 'dave');
    expect(c.queueButton).toBe(false);
    expect(c.actions.login).toEqual({ extensions: [], queues: [] });
  });

  it('supervisor: its groups and itself, not other groups, not peers', () => {
    const c = capabilities(policy, 'sam');
    expect(c.actions.penalty.extensions).toEqual(['1001', '1002', '1004']);
    expect(c.actions.login.queues).toEqual(['support', 'sales']);
  });

  it('manager of one PBX: lower roles and hot desks of its PBX, not the owner, not the other PBX', () => {
    expect(capabilities(policy, 'mike').actions.pause.extensions).toEqual(['1001', '1002', '1003', '1004', '1010']);
  });

  it('login buttons follow login, pause buttons follow pause', () => {
    const c = capabilities(policy, 'night1');
    expect(c.actions.login).toEqual({ extensions: ['2001'], queues: ['night-q'] });
    expect(c.actions.pause.extensions).toEqual([]);
    expect(c.queueButton).toBe(true);
  });

  it('an unknown user, or a known one from an address outside its allow-list, gets an empty list for every action', () => {
    const none = { extensions: [], queues: [] };
    const empty = { login: none, logout: none, pause: none, unpause: none, penalty: none };
    expect(capabilities(policy, 'ghost')).toEqual({ user: 'ghost', queueButton: false, actions: empty });
    expect(capabilities(policy, 'alice', '10.9.9.9')).toEqual({ user: 'alice', queueButton: false, actions: empty });
  });

  it('from an address outside the allow-list: nothing', () => {
    expect(capabilities(policy, 'alice', '10.9.9.9').queueButton).toBe(false);
    expect(capabilities(policy, 'alice', '10.0.3.9').queueButton).toBe(true);
  });
});
