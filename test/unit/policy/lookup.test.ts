/** Directory look-ups the daemon makes: by id, by AMI interface, the owner of an extension, what ring-all dials. */
import { describe, expect, it } from 'vitest';
import { agentForDispatch, extensionById, extensionByInterface, userById, userOwningExtension } from '../../../src/domain/policy/index.js';
import { ext, policyOf, user } from './directory.js';

const directory = () =>
  policyOf({
    users: [
      user('al', 'agent', {
        extensions: ['101'],
        addresses: [
          { endpoint: 'PJSIP/101', delayMs: 0 },
          { endpoint: 'PJSIP/101', delayMs: 3000, timeoutSec: 9 },
          { endpoint: 'Local/555@out', delayMs: 2000, timeoutSec: 15 },
        ],
        flags: { ...user('x', 'agent').flags, inbound: true },
      }),
      user('bo', 'agent'),
    ],
    // two extensions on one interface (a shared line): the first one listed is the one AMI events map to
    extensions: [ext('101'), { id: '102', interface: 'PJSIP/shared' }, { id: '103', interface: 'PJSIP/shared' }],
  });

describe('directory look-ups', () => {
  it('by id', () => {
    const p = directory();
    expect(extensionById(p, '102')).toEqual({ id: '102', interface: 'PJSIP/shared' });
    expect(extensionById(p, '999')).toBeUndefined();
    expect(userById(p, 'bo')?.id).toBe('bo');
    expect(userById(p, 'zz')).toBeUndefined();
  });

  it('by interface: the first extension listed with it', () => {
    const p = directory();
    expect(extensionByInterface(p, 'PJSIP/shared')?.id).toBe('102');
    expect(extensionByInterface(p, 'PJSIP/101')?.id).toBe('101');
  });

  it('the owner of an extension, none for an unowned or unknown one', () => {
    const p = directory();
    expect(userOwningExtension(p, '101')?.id).toBe('al');
    expect(userOwningExtension(p, '102')).toBeUndefined();
    expect(userOwningExtension(p, '999')).toBeUndefined();
  });

  it('what ring-all dials: each endpoint once (its first entry), in order, with delay and timeout; the inbound flag', () => {
    const p = directory();
    expect(agentForDispatch(p, 'al')).toStrictEqual({
      user: userById(p, 'al'),
      addresses: [
        { endpoint: 'PJSIP/101', delayMs: 0 },
        { endpoint: 'Local/555@out', delayMs: 2000, timeoutSec: 15 },
      ],
      inbound: true,
    });
    expect(agentForDispatch(p, 'bo')).toEqual({ user: userById(p, 'bo'), addresses: [], inbound: false });
    expect(agentForDispatch(p, 'zz')).toBeUndefined();
  });
});
