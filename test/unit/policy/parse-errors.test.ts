/**
 * What a config author is told, word for word: for each mistake in a policy document, every error
 * with its path and message, all at once (what `agentgate` prints when it refuses to start, and what
 * the policy API answers). And what a valid document becomes, with its defaults.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAGS, parsePolicyDoc } from '../../../src/domain/policy/index.js';
import { minimalDoc } from './fixture.js';

// Raw YAML-shaped data: anything goes, that is the point.
// oxlint-disable-next-line no-explicit-any
type Raw = Record<string, any>;

const base = minimalDoc;

interface Row {
  name: string;
  doc: (d: Raw) => unknown;
  /** [path, message], every one, in the order reported. */
  errors: Array<[string, string]>;
}

const rows: Row[] = [
  {
    name: 'the document is not a mapping',
    doc: () => ['users'],
    errors: [['(root)', 'must be a mapping']],
  },
  {
    name: 'an unknown section (a typo)',
    doc: (d) => ({ ...d, user: [] }),
    errors: [['user', 'unknown key (allowed: users, groups, extensions, queues, grants)']],
  },
  {
    name: 'a section that is not a list',
    doc: (d) => ({ ...d, users: { alice: {} } }),
    errors: [
      ['users', 'must be a list'],
      ['groups[0].members[0]', "unknown user 'alice'"],
      ['grants[0].subject', "unknown user 'alice'"],
    ],
  },
  {
    name: 'an item that is not a mapping',
    doc: (d) => ({ ...d, queues: ['support', null] }),
    errors: [
      ['queues[0]', 'must be a mapping'],
      ['queues[1]', 'must be a mapping'],
      ['grants[0].targets[1]', "unknown queue 'support'"],
    ],
  },
  {
    name: 'a user with nothing',
    doc: (d) => ({ ...d, users: [{}], groups: [], grants: [] }),
    errors: [
      ['users[0].id', 'must be a string'],
      ['users[0].role', 'must be one of agent | supervisor | manager | administrator | owner'],
      ['users[0].scope', 'must be one of no_portal | basic_user | call_center_agent | call_center_supervisor | office_manager'],
    ],
  },
  {
    name: 'a name that is not a string',
    doc: (d) => ((d.users[0].name = 5), d),
    errors: [
      ['users[0].name', 'must be a string'],
      ['groups[0].members[0]', "unknown user 'alice'"],
      ['grants[0].subject', "unknown user 'alice'"],
    ],
  },
  {
    name: 'a tab in a name',
    doc: (d) => ((d.users[0].name = 'Al\tice'), d),
    errors: [
      ['users[0].name', 'must not contain control characters'],
      ['groups[0].members[0]', "unknown user 'alice'"],
      ['grants[0].subject', "unknown user 'alice'"],
    ],
  },
  {
    name: 'a bell in a queue name',
    doc: (d) => ((d.queues[0].name = 'S\u0007'), d),
    errors: [['queues[0].name', 'must not contain control characters']],
  },
  {
    name: 'a DEL in a group name',
    doc: (d) => ((d.groups[0].name = 'x\u007f'), d),
    errors: [['groups[0].name', 'must not contain control characters']],
  },
  {
    name: 'CR alone in a note',
    doc: (d) => ((d.grants[0].note = 'a\rb'), d),
    errors: [['grants[0].note', 'must not contain CR or LF']],
  },
  {
    name: 'a server name with a space',
    doc: (d) => ((d.users[0].server = 'pbx 1'), d),
    errors: [['users[0].server', 'must be a server name']],
  },
  {
    name: 'a list of groups that is not a list',
    doc: (d) => ((d.users[0].groups = 'team'), d),
    errors: [['users[0].groups', 'must be a list']],
  },
  {
    name: 'a group listed twice',
    doc: (d) => ((d.users[0].groups = ['team', 'team']), d),
    errors: [['users[0].groups[1]', "'team' is listed twice"]],
  },
  {
    name: 'a group id that is not a string',
    doc: (d) => ((d.users[0].groups = [{ id: 'team' }]), d),
    errors: [['users[0].groups[0]', 'must be a string']],
  },
  {
    name: 'flags that are not a mapping',
    doc: (d) => ((d.users[0].flags = true), d),
    errors: [['users[0].flags', 'must be a mapping']],
  },
  {
    name: 'an unknown flag',
    doc: (d) => ((d.users[0].flags = { inbund: true }), d),
    errors: [
      [
        'users[0].flags.inbund',
        'unknown key (allowed: inbound, outbound, blended, manual, international, hangup, hold, requeue, crossQueueRequeue, transfer, endForAll, internationalTransfer, directTransfer, ipAllow)',
      ],
    ],
  },
  {
    name: 'a flag that is not a boolean',
    doc: (d) => ((d.users[0].flags = { hold: 'yes', transfer: 1 }), d),
    errors: [
      ['users[0].flags.hold', 'must be true or false'],
      ['users[0].flags.transfer', 'must be true or false'],
    ],
  },
  {
    name: 'endForAll and internationalTransfer that are not booleans',
    doc: (d) => ((d.users[0].flags = { endForAll: 'yes', internationalTransfer: 0 }), d),
    errors: [
      ['users[0].flags.endForAll', 'must be true or false'],
      ['users[0].flags.internationalTransfer', 'must be true or false'],
    ],
  },
  {
    name: 'blended with inbound only',
    doc: (d) => ((d.users[0].flags = { inbound: true, blended: true }), d),
    errors: [['users[0].flags.blended', 'blended requires both inbound and outbound to be true']],
  },
  {
    name: 'an unknown directTransfer',
    doc: (d) => ((d.users[0].flags = { directTransfer: 'anyone' }), d),
    errors: [['users[0].flags.directTransfer', 'must be one of disabled | own_group | any_logged_in']],
  },
  {
    name: 'an allow-list that is not a list',
    doc: (d) => ((d.users[0].flags = { ipAllow: '10.0.0.1' }), d),
    errors: [['users[0].flags.ipAllow', 'must be a list']],
  },
  {
    name: 'an allow-list entry that is not a string',
    doc: (d) => ((d.users[0].flags = { ipAllow: [10] }), d),
    errors: [['users[0].flags.ipAllow[0]', 'must be a string']],
  },
  {
    name: 'an allow-list entry that is no address',
    doc: (d) => ((d.users[0].flags = { ipAllow: ['10.0.0.1', 'localhost'] }), d),
    errors: [['users[0].flags.ipAllow[1]', "'localhost' is not an IPv4 address, IPv4 pattern with % octets, or IPv6 literal"]],
  },
  {
    name: 'an address string that is no endpoint',
    doc: (d) => ((d.users[0].addresses = ['1001']), d),
    errors: [['users[0].addresses[0]', 'must be an endpoint like PJSIP/1001']],
  },
  {
    name: 'address bounds',
    doc: (d) => (
      (d.users[0].addresses = [
        { endpoint: 'PJSIP/1', delayMs: 3600001 },
        { endpoint: 'PJSIP/2', timeoutSec: 0 },
        { endpoint: 'PJSIP/3', timeoutSec: 3601 },
        { endpoint: 'PJSIP/4', delayMs: 1.5 },
        { endpoint: 'PJSIP/5', delayMs: '5' },
      ]),
      d
    ),
    errors: [
      ['users[0].addresses[0].delayMs', 'must be an integer from 0 to 3600000'],
      ['users[0].addresses[1].timeoutSec', 'must be an integer from 1 to 3600'],
      ['users[0].addresses[2].timeoutSec', 'must be an integer from 1 to 3600'],
      ['users[0].addresses[3].delayMs', 'must be an integer from 0 to 3600000'],
      ['users[0].addresses[4].delayMs', 'must be an integer from 0 to 3600000'],
    ],
  },
  {
    name: 'an address object without endpoint, with an unknown key',
    doc: (d) => ((d.users[0].addresses = [{ delay: 5 }]), d),
    errors: [
      ['users[0].addresses[0].delay', 'unknown key (allowed: endpoint, delayMs, timeoutSec)'],
      ['users[0].addresses[0].endpoint', 'must be a string'],
    ],
  },
  {
    name: 'an address that is neither',
    doc: (d) => ((d.users[0].addresses = [42]), d),
    errors: [['users[0].addresses[0]', 'must be a mapping']],
  },
  {
    name: 'a user without a role and scope',
    doc: (d) => (delete d.users[0].role, delete d.users[0].scope, d),
    errors: [
      ['users[0].role', 'must be one of agent | supervisor | manager | administrator | owner'],
      ['users[0].scope', 'must be one of no_portal | basic_user | call_center_agent | call_center_supervisor | office_manager'],
      ['groups[0].members[0]', "unknown user 'alice'"],
      ['grants[0].subject', "unknown user 'alice'"],
    ],
  },
  {
    name: 'a group with bad ids',
    doc: (d) => ((d.groups[0] = { id: 'te am', members: ['Alice'], supervisors: ['ghost'] }), d),
    errors: [
      ['groups[0].id', 'must be a group id of A-Z a-z 0-9 . _ -'],
      ['groups[0].members[0]', 'must be a user id'],
      ['users[0].groups[0]', "unknown group 'team'"],
    ],
  },
  {
    name: 'an extension with bad fields',
    doc: (d) => ((d.extensions[0] = { id: '1001', interface: 'PJSIP/10 01', stateInterface: 'x', server: '' }), d),
    errors: [
      ['extensions[0].interface', 'must be an interface like PJSIP/1001'],
      ['extensions[0].stateInterface', 'must be an interface like PJSIP/1001'],
      ['extensions[0].server', 'must be a server name'],
      ['users[0].extensions[0]', "unknown extension '1001'"],
      ['grants[0].targets[0]', "unknown extension '1001'"],
    ],
  },
  {
    name: 'an extension without id or interface',
    doc: (d) => ((d.extensions[0] = {}), d),
    errors: [
      ['extensions[0].id', 'must be a string'],
      ['extensions[0].interface', 'must be a string'],
      ['users[0].extensions[0]', "unknown extension '1001'"],
      ['grants[0].targets[0]', "unknown extension '1001'"],
    ],
  },
  {
    name: 'a queue with a bad id',
    doc: (d) => ((d.queues[0] = { id: 'sup port' }), d),
    errors: [
      ['queues[0].id', 'must be a queue name of A-Z a-z 0-9 . _ -'],
      ['grants[0].targets[1]', "unknown queue 'support'"],
    ],
  },
  {
    name: 'a grant with a bad id and subject',
    doc: (d) => ((d.grants[0].id = 'g 1'), (d.grants[0].subject = 'alice'), d),
    errors: [
      ['grants[0].id', 'must be a grant id'],
      ['grants[0].subject', "must be 'user:<id>' or 'group:<id>'"],
    ],
  },
  {
    name: 'a grant whose actions are not a list',
    doc: (d) => ((d.grants[0].actions = 'login'), d),
    errors: [['grants[0].actions', 'must be a list']],
  },
  {
    name: 'a grant without actions or targets',
    doc: (d) => (delete d.grants[0].actions, delete d.grants[0].targets, d),
    errors: [
      ['grants[0].actions', 'must be a list'],
      ['grants[0].targets', 'is required'],
    ],
  },
  {
    name: 'a grant with empty actions and targets',
    doc: (d) => ((d.grants[0].actions = []), (d.grants[0].targets = []), d),
    errors: [
      ['grants[0].actions', 'must list at least one action'],
      ['grants[0].targets', 'must list at least one target'],
    ],
  },
  {
    name: 'an action listed twice, an unknown one',
    doc: (d) => ((d.grants[0].actions = ['login', 'login', 'dance']), d),
    errors: [
      ['grants[0].actions[1]', "'login' is listed twice"],
      ['grants[0].actions[2]', 'must be one of login | logout | pause | unpause | penalty'],
    ],
  },
  {
    name: 'a target of an unknown kind',
    doc: (d) => ((d.grants[0].targets = ['pbx:1', 'extension:']), d),
    errors: [
      ['grants[0].targets[0]', "must be 'extension:<id>', 'user:<id>', 'group:<id>' or 'queue:<id>'"],
      ['grants[0].targets[1]', "must be 'extension:<id>', 'user:<id>', 'group:<id>' or 'queue:<id>'"],
    ],
  },
  {
    name: 'unknown references everywhere',
    doc: (d) => (
      (d.users[0].extensions = ['1001', '9']),
      (d.groups[0].supervisors = ['bob']),
      (d.grants[0].subject = 'group:night'),
      (d.grants[0].targets = ['user:bob', 'group:x', 'extension:9', 'queue:q']),
      d
    ),
    errors: [
      ['users[0].extensions[1]', "unknown extension '9'"],
      ['groups[0].supervisors[0]', "unknown user 'bob'"],
      ['grants[0].subject', "unknown group 'night'"],
      ['grants[0].targets[0]', "unknown user 'bob'"],
      ['grants[0].targets[1]', "unknown group 'x'"],
      ['grants[0].targets[2]', "unknown extension '9'"],
      ['grants[0].targets[3]', "unknown queue 'q'"],
    ],
  },
  {
    name: 'references after an invalid item use its place in the list',
    doc: (d) => (d.users.unshift({ id: 'BAD' }), (d.users[1].extensions = ['9']), d),
    errors: [
      ['users[0].id', 'must be a user id of a-z 0-9 . _ -'],
      ['users[0].role', 'must be one of agent | supervisor | manager | administrator | owner'],
      ['users[0].scope', 'must be one of no_portal | basic_user | call_center_agent | call_center_supervisor | office_manager'],
      ['users[1].extensions[0]', "unknown extension '9'"],
    ],
  },
  {
    name: 'duplicate ids, numeric ones too',
    doc: (d) => (
      (d.extensions = [
        { id: 1001, interface: 'PJSIP/1001' },
        { id: '1001', interface: 'PJSIP/1' },
      ]),
      d.queues.push({ id: 'support' }),
      d.groups.push({ id: 'team' }),
      d.grants.push({ ...d.grants[0] }),
      d.users.push({ ...d.users[0], extensions: [] }),
      d
    ),
    errors: [
      ['users[1].id', "duplicate id 'alice' (first at users[0])"],
      ['groups[1].id', "duplicate id 'team' (first at groups[0])"],
      ['extensions[1].id', "duplicate id '1001' (first at extensions[0])"],
      ['queues[1].id', "duplicate id 'support' (first at queues[0])"],
      ['grants[1].id', "duplicate id 'g1' (first at grants[0])"],
    ],
  },
  {
    name: 'an extension owned twice',
    doc: (d) => (
      d.users.push(
        { id: 'bob', role: 'agent', scope: 'basic_user', extensions: ['1001'] },
        { id: 'cy', role: 'agent', scope: 'basic_user', extensions: ['1001'] },
      ),
      d
    ),
    errors: [
      ['users[1].extensions[0]', "extension '1001' is already owned by user 'alice'"],
      ['users[2].extensions[0]', "extension '1001' is already owned by user 'alice'"],
    ],
  },
  {
    name: 'an extension listed twice by its owner',
    doc: (d) => ((d.users[0].extensions = ['1001', '1001']), d),
    errors: [['users[0].extensions[1]', "'1001' is listed twice"]],
  },
  {
    name: 'an item that is not a mapping, in every section',
    doc: () => ({ users: ['alice'], groups: [7], extensions: [null], queues: [[]], grants: [true] }),
    errors: [
      ['users[0]', 'must be a mapping'],
      ['groups[0]', 'must be a mapping'],
      ['extensions[0]', 'must be a mapping'],
      ['queues[0]', 'must be a mapping'],
      ['grants[0]', 'must be a mapping'],
    ],
  },
  {
    name: 'lists of the wrong shape inside a user and a group',
    doc: (d) => ((d.users[0].addresses = 'PJSIP/1001'), (d.groups[0].supervisors = 'alice'), (d.groups[0].members = 'alice'), d),
    errors: [
      ['users[0].addresses', 'must be a list'],
      ['groups[0].members', 'must be a list'],
      ['groups[0].supervisors', 'must be a list'],
    ],
  },
  {
    name: 'ids of the wrong shape in a user’s and a group’s lists',
    doc: (d) => ((d.users[0].groups = ['a b']), (d.users[0].extensions = ['1 2']), (d.groups[0].supervisors = ['Al']), d),
    errors: [
      ['users[0].groups[0]', 'must be a group id'],
      ['users[0].extensions[0]', 'must be an extension id'],
      ['groups[0].supervisors[0]', 'must be a user id'],
    ],
  },
  {
    name: 'an address object whose endpoint is no endpoint',
    doc: (d) => ((d.users[0].addresses = [{ endpoint: 'nope', delayMs: 0 }]), d),
    errors: [['users[0].addresses[0].endpoint', 'must be an endpoint like PJSIP/1001']],
  },
  {
    name: 'a CR in an extension name',
    doc: (d) => ((d.extensions[0].name = 'Desk\r\n'), d),
    errors: [['extensions[0].name', 'must not contain CR or LF']],
  },
  {
    name: 'an invalid user is reported once, not again through its references',
    doc: (d) => (
      d.users.push(
        { id: 'B A D', name: 'Bad', role: 'agent', scope: 'basic_user', groups: ['nope'] },
        { id: 'norole', scope: 'basic_user', groups: ['nope'] },
        { id: 'noscope', role: 'agent', groups: ['nope'] },
      ),
      d
    ),
    errors: [
      ['users[1].id', 'must be a user id of a-z 0-9 . _ -'],
      ['users[2].role', 'must be one of agent | supervisor | manager | administrator | owner'],
      ['users[3].scope', 'must be one of no_portal | basic_user | call_center_agent | call_center_supervisor | office_manager'],
    ],
  },
  {
    name: 'an invalid grant is reported once, not again through its references',
    doc: (d) => (
      d.grants.push(
        { id: 'g 2', subject: 'user:ghost', actions: ['login'], targets: ['queue:ghost'] },
        { id: 'g3', subject: 'team', actions: ['login'], targets: ['queue:ghost'] },
      ),
      d
    ),
    errors: [
      ['grants[1].id', 'must be a grant id'],
      ['grants[2].subject', "must be 'user:<id>' or 'group:<id>'"],
    ],
  },
  {
    name: 'an unquoted numeric user id keeps its place in the list for later errors',
    doc: (d) => (d.users.push({ id: 42, role: 'agent', scope: 'basic_user', groups: ['nope'] }), d),
    errors: [['users[1].groups[0]', "unknown group 'nope'"]],
  },
  {
    name: 'an item that is not a mapping does not shift the place of the next one',
    doc: (d) => (d.users.unshift(null), (d.users[1].groups = ['nope']), d),
    errors: [
      ['users[0]', 'must be a mapping'],
      ['users[1].groups[0]', "unknown group 'nope'"],
    ],
  },
  {
    name: 'with a duplicate id, a reference error names the first item with that id',
    doc: (d) => (d.users.push({ id: 'alice', role: 'agent', scope: 'basic_user', groups: ['nope'] }), d),
    errors: [
      ['users[1].id', "duplicate id 'alice' (first at users[0])"],
      ['users[0].groups[0]', "unknown group 'nope'"],
    ],
  },
];

describe('parsePolicyDoc: every mistake, named', () => {
  it.each(rows)('$name', ({ doc, errors }) => {
    const r = parsePolicyDoc(doc(base()));
    expect(r.ok ? [] : r.errors.map((e) => [e.path, e.message])).toEqual(errors);
  });
});

describe('parsePolicyDoc: what a valid document becomes', () => {
  const parsed = (d: Raw): Raw => {
    const r = parsePolicyDoc(d);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };

  it('every flag as written', () => {
    const d = base();
    d.users[0].flags = {
      inbound: true,
      outbound: true,
      blended: true,
      manual: true,
      international: true,
      hangup: true,
      hold: true,
      requeue: true,
      crossQueueRequeue: true,
      transfer: true,
      endForAll: true,
      internationalTransfer: true,
      directTransfer: 'any_logged_in',
      ipAllow: ['10.%', '::1'],
    };
    expect(parsed(d).users[0].flags).toStrictEqual(d.users[0].flags);
    d.users[0].flags = { outbound: false, directTransfer: 'own_group' };
    expect(parsed(d).users[0].flags).toStrictEqual({ ...DEFAULT_FLAGS, ipAllow: [], directTransfer: 'own_group' });
    d.users[0].flags = { inbound: true };
    expect(parsed(d).users[0].flags).toStrictEqual({ ...DEFAULT_FLAGS, ipAllow: [], inbound: true, directTransfer: 'disabled' });
  });

  it('addresses: a plain endpoint rings at once; an object keeps its delay and timeout, limits included', () => {
    const d = base();
    d.users[0].addresses = [
      'PJSIP/1001',
      { endpoint: 'PJSIP/1002', delayMs: 3_600_000, timeoutSec: 3600 },
      { endpoint: 'PJSIP/1003', timeoutSec: 1 },
      { endpoint: 'Local/5551234@trunk-out', delayMs: 0 },
    ];
    expect(parsed(d).users[0].addresses).toStrictEqual([
      { endpoint: 'PJSIP/1001', delayMs: 0 },
      { endpoint: 'PJSIP/1002', delayMs: 3_600_000, timeoutSec: 3600 },
      { endpoint: 'PJSIP/1003', delayMs: 0, timeoutSec: 1 },
      { endpoint: 'Local/5551234@trunk-out', delayMs: 0 },
    ]);
  });

  it('a user without a server has none (not an empty one)', () => {
    expect(parsed(base()).users[0]).toStrictEqual({
      id: 'alice',
      name: 'Alice',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1001'],
      addresses: [{ endpoint: 'PJSIP/1001', delayMs: 0 }],
      flags: { ...DEFAULT_FLAGS, ipAllow: [] },
    });
  });

  it('a user: its name defaults to its id; lists default to empty; its server is kept', () => {
    const d = base();
    d.users.push({ id: 'bob', role: 'manager', scope: 'office_manager', server: 'pbx-1' });
    expect(parsed(d).users[1]).toStrictEqual({
      id: 'bob',
      name: 'bob',
      role: 'manager',
      scope: 'office_manager',
      groups: [],
      extensions: [],
      addresses: [],
      flags: { ...DEFAULT_FLAGS, ipAllow: [] },
      server: 'pbx-1',
    });
  });

  it('optional fields of groups, extensions, queues and grants are kept, and only when given', () => {
    const d = base();
    d.groups[0] = { id: 'team', name: 'Team', members: ['alice'], supervisors: ['alice'] };
    d.groups.push({ id: 'bare' });
    d.extensions[0] = { id: '1001', interface: 'PJSIP/1001', stateInterface: 'Custom/1001', name: 'Desk', server: 'pbx1' };
    d.extensions.push({ id: '#2*+', interface: 'IAX2/x' });
    d.queues[0] = { id: 'support', name: 'Support', server: 'pbx1' };
    d.queues.push({ id: 'q' });
    d.grants[0].note = 'why';
    d.grants.push({ id: 'g:2', subject: 'group:team', actions: ['pause', 'penalty'], targets: ['group:team'] });
    const v = parsed(d);
    expect(v.groups).toStrictEqual([
      { id: 'team', name: 'Team', members: ['alice'], supervisors: ['alice'] },
      { id: 'bare', members: [], supervisors: [] },
    ]);
    expect(v.extensions).toStrictEqual([
      { id: '1001', interface: 'PJSIP/1001', stateInterface: 'Custom/1001', name: 'Desk', server: 'pbx1' },
      { id: '#2*+', interface: 'IAX2/x' },
    ]);
    expect(v.queues).toStrictEqual([{ id: 'support', name: 'Support', server: 'pbx1' }, { id: 'q' }]);
    expect(v.grants).toStrictEqual([
      { id: 'g1', subject: 'user:alice', actions: ['login'], targets: ['extension:1001', 'queue:support'], note: 'why' },
      { id: 'g:2', subject: 'group:team', actions: ['pause', 'penalty'], targets: ['group:team'] },
    ]);
  });

  it('an absent or null document is an empty one', () => {
    expect(parsePolicyDoc(null)).toStrictEqual({ ok: true, value: { users: [], groups: [], extensions: [], queues: [], grants: [] } });
  });
});
