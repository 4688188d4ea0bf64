/**
 * What an id, a server name, an interface, a grant subject or target may look like: the exact
 * rules (characters, length limits, nothing before or after), since these values reach AMI and ARI.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyDoc } from '../../../src/domain/policy/index.js';

// oxlint-disable-next-line no-explicit-any
type Raw = Record<string, any>;
const base = (): Raw => ({
  users: [{ id: 'alice', role: 'agent', scope: 'call_center_agent' }],
  groups: [{ id: 'team' }],
  extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
  queues: [{ id: 'support' }],
  grants: [{ id: 'g1', subject: 'user:alice', actions: ['login'], targets: ['queue:support'] }],
});

/** The error, if any, that setting this one field to `value` gives on that field's own path. */
function errorOn(field: string, value: unknown): string | undefined {
  const d = base();
  const [section, key] = field.split('.') as [string, string];
  d[section][0][key] = key === 'targets' ? [value] : value;
  const r = parsePolicyDoc(d);
  const path = key === 'targets' ? `${section}[0].targets[0]` : `${section}[0].${key}`;
  return r.ok ? undefined : r.errors.find((e) => e.path === path)?.message;
}

const long = (n: number, c = 'a'): string => c.repeat(n);

describe.each([
  {
    field: 'users.id',
    what: 'a user id of a-z 0-9 . _ -',
    ok: ['a', 'a.b_c-9', long(64)],
    bad: ['', long(65), 'Alice', 'a b', ' a', 'a ', 'a/b', 'é'],
  },
  {
    field: 'groups.id',
    what: 'a group id of A-Z a-z 0-9 . _ -',
    ok: ['T', 'Team.2_x-y', long(64, 'G')],
    bad: ['', long(65), 'a b', ' a', 'a ', 'a:b', 'a#'],
  },
  {
    field: 'extensions.id',
    what: 'an extension id of A-Z a-z 0-9 . _ + # * -',
    ok: ['1', '*21#', 'A+b.c_d-e', long(64, '9')],
    bad: ['', long(65, '9'), '1 2', ' 1', '1 ', '1/2', '1:2'],
  },
  {
    field: 'queues.id',
    what: 'a queue name of A-Z a-z 0-9 . _ -',
    ok: ['q', 'Support.EU_1-x', long(128, 'q')],
    bad: ['', long(129, 'q'), 'a b', ' q', 'q ', 'q:1', 'q#'],
  },
  {
    field: 'grants.id',
    what: 'a grant id',
    ok: ['g', 'team:login.2_x-y', long(128, 'g')],
    bad: ['', long(129, 'g'), 'g 1', ' g', 'g ', 'g/1', 'g#'],
  },
  {
    field: 'users.server',
    what: 'a server name',
    ok: ['p', 'pbx-1.eu_x', long(64, 'p')],
    bad: ['', long(65, 'p'), 'pbx 1', ' p', 'p ', 'p:1', 'p/1'],
  },
  {
    field: 'extensions.interface',
    what: 'an interface like PJSIP/1001',
    ok: ['PJSIP/1001', 'Local/555@trunk-out', 'SIP_x-Y/a.b:c', 'a/b'],
    bad: [
      '',
      '/1001',
      'PJSIP/',
      'PJSIP1001',
      'PJ SIP/1',
      ' PJSIP/1',
      'PJSIP/1 ',
      'PJSIP/1 2',
      'PJSIP/a,b',
      'PJSIP/a|b',
      'PJSIP/a;b',
      'PJSIP/a\u00a0b',
      'PJ.SIP/1',
    ],
  },
  {
    field: 'grants.subject',
    what: "'user:<id>' or 'group:<id>'",
    ok: ['user:alice', 'group:team'],
    bad: ['user:', 'group:', 'alice', 'users:alice', 'xuser:alice', 'queue:support', 'extension:1001'],
  },
  {
    field: 'grants.targets',
    what: "'extension:<id>', 'user:<id>', 'group:<id>' or 'queue:<id>'",
    ok: ['queue:support', 'extension:1001', 'user:alice', 'group:team'],
    bad: ['queue:', 'support', 'pbx:1', 'xqueue:support', 'queues:support'],
  },
])('$field', ({ field, what, ok, bad }) => {
  it.each(ok)('accepts %j', (value) => {
    const message = errorOn(field, value);
    // A well-formed value may still name something unknown; its shape is fine.
    expect(message === undefined || message.startsWith('unknown ')).toBe(true);
  });
  it.each(bad)('refuses %j', (value) => {
    expect(errorOn(field, value)).toBe(`must be ${what}`);
  });
});

describe('numbers where YAML gives them unquoted', () => {
  it('an unquoted numeric id is read as its digits, wherever an id is expected', () => {
    const d = base();
    d.extensions[0].id = 1001;
    d.users[0].extensions = [1001];
    d.grants[0].targets = ['extension:1001'];
    const r = parsePolicyDoc(d);
    expect(r.ok && r.value.extensions[0]!.id).toBe('1001');
    expect(r.ok && r.value.users[0]!.extensions).toEqual(['1001']);
  });

  it('a number is not a name (no pattern to read it against)', () => {
    expect(errorOn('queues.name', 5)).toBe('must be a string');
  });
});
