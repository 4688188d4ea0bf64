import { beforeEach, describe, expect, it } from 'vitest';
import {
  agentForDispatch,
  compilePolicy,
  extensionByInterface,
  parsePolicyDoc,
  userOwningExtension,
  type CompiledPolicy,
} from '../../../src/domain/policy/index.js';
import { loadDoc, minimalDoc } from './fixture.js';

const base = minimalDoc;

function errorsOf(raw: unknown): Array<{ path: string; message: string }> {
  const r = parsePolicyDoc(raw);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}

describe('parsePolicyDoc', () => {
  it('accepts a minimal doc and fills defaults', () => {
    const r = parsePolicyDoc(base());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const u = r.value.users[0]!;
    expect(u.flags).toEqual({
      inbound: false,
      outbound: false,
      blended: false,
      manual: false,
      international: false,
      hangup: false,
      hold: false,
      requeue: false,
      crossQueueRequeue: false,
      transfer: false,
      endForAll: false,
      internationalTransfer: false,
      directTransfer: 'disabled',
      ipAllow: [],
    });
    expect(u.addresses).toEqual([{ endpoint: 'PJSIP/1001', delayMs: 0 }]);
  });

  it('accepts an empty or absent directory', () => {
    expect(parsePolicyDoc({}).ok).toBe(true);
    expect(parsePolicyDoc(undefined).ok).toBe(true);
  });

  const bad: Array<[string, (d: ReturnType<typeof base>) => void, string, RegExp?]> = [
    [
      'blended without inbound',
      (d) => Object.assign(d.users[0]!, { flags: { outbound: true, blended: true } }),
      'users[0].flags.blended',
      /inbound and outbound/,
    ],
    ['blended alone', (d) => Object.assign(d.users[0]!, { flags: { blended: true } }), 'users[0].flags.blended'],
    ['unknown role', (d) => Object.assign(d.users[0]!, { role: 'boss' }), 'users[0].role', /agent \| supervisor/],
    ['unknown scope', (d) => Object.assign(d.users[0]!, { scope: 'everything' }), 'users[0].scope'],
    ['bad user id', (d) => Object.assign(d.users[0]!, { id: 'Alice Smith' }), 'users[0].id'],
    ['typo key', (d) => Object.assign(d.users[0]!, { extentions: [] }), 'users[0].extentions', /unknown key/],
    ['unknown group of a user', (d) => (d.users[0]!.groups = ['ghosts']), 'users[0].groups[0]', /unknown group 'ghosts'/],
    ['unknown extension of a user', (d) => (d.users[0]!.extensions = ['9999']), 'users[0].extensions[0]'],
    ['unknown member', (d) => (d.groups[0]!.members = ['zed']), 'groups[0].members[0]', /unknown user 'zed'/],
    ['unknown grant subject', (d) => (d.grants[0]!.subject = 'group:night'), 'grants[0].subject', /unknown group 'night'/],
    ['unknown grant target', (d) => (d.grants[0]!.targets = ['queue:sales']), 'grants[0].targets[0]', /unknown queue 'sales'/],
    ['bad target kind', (d) => (d.grants[0]!.targets = ['server:pbx1']), 'grants[0].targets[0]'],
    ['bad action', (d) => (d.grants[0]!.actions = ['transfer']), 'grants[0].actions[0]'],
    ['no actions', (d) => (d.grants[0]!.actions = []), 'grants[0].actions'],
    ['duplicate user id', (d) => d.users.push({ ...d.users[0]!, extensions: [] }), 'users[1].id', /duplicate id 'alice'/],
    ['duplicate grant id', (d) => d.grants.push({ ...d.grants[0]! }), 'grants[1].id'],
    [
      'extension owned twice',
      (d) => d.users.push({ ...d.users[0]!, id: 'bob' }),
      'users[1].extensions[0]',
      /already owned by user 'alice'/,
    ],
    [
      'CR/LF in an interface (would reach AMI)',
      (d) => (d.extensions[0]!.interface = 'PJSIP/1001\r\nAction: Logoff'),
      'extensions[0].interface',
      /CR or LF/,
    ],
    ['CR/LF in a name', (d) => (d.users[0]!.name = 'Alice\nSmith'), 'users[0].name', /CR or LF/],
    ['interface without tech', (d) => (d.extensions[0]!.interface = '1001'), 'extensions[0].interface'],
    ['bad ip pattern', (d) => Object.assign(d.users[0]!, { flags: { ipAllow: ['10.0.%.300'] } }), 'users[0].flags.ipAllow[0]'],
    ['bad directTransfer', (d) => Object.assign(d.users[0]!, { flags: { directTransfer: 'anyone' } }), 'users[0].flags.directTransfer'],
    [
      'bad address delay',
      (d) => Object.assign(d.users[0]!, { addresses: [{ endpoint: 'PJSIP/1001', delayMs: -5 }] }),
      'users[0].addresses[0].delayMs',
    ],
  ];

  it.each(bad)('rejects %s, naming %s', (_name, mutate, path, message) => {
    const d = base();
    mutate(d);
    const errors = errorsOf(d);
    const hit = errors.find((e) => e.path === path);
    expect(hit, JSON.stringify(errors)).toBeDefined();
    if (message) expect(hit!.message).toMatch(message);
  });

  it('reports every error at once', () => {
    const d = base();
    Object.assign(d.users[0]!, { role: 'boss', flags: { blended: true } });
    d.grants[0]!.subject = 'user:nobody';
    const paths = errorsOf(d).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['users[0].role', 'users[0].flags.blended', 'grants[0].subject']));
  });

  it('accepts unquoted numeric extension ids from YAML', () => {
    const d = base() as unknown as {
      extensions: Array<{ id: unknown }>;
      users: Array<{ extensions: unknown[] }>;
      grants: Array<{ targets: string[] }>;
    };
    d.extensions[0]!.id = 1001;
    d.users[0]!.extensions = [1001];
    const r = parsePolicyDoc(d);
    expect(r.ok).toBe(true);
  });
});

describe('directory look-ups', () => {
  let policy: CompiledPolicy;
  beforeEach(() => {
    policy = compilePolicy(loadDoc(), 1);
  });

  it('finds the owner of an extension (the actor of a dialplan feature code)', () => {
    expect(userOwningExtension(policy, '1001')?.id).toBe('alice');
    expect(userOwningExtension(policy, '1010')).toBeUndefined();
    expect(userOwningExtension(policy, 'nope')).toBeUndefined();
  });

  it('finds an extension by the interface AMI reports', () => {
    expect(extensionByInterface(policy, 'PJSIP/1003')?.id).toBe('1003');
    expect(extensionByInterface(policy, 'PJSIP/9999')).toBeUndefined();
  });

  it('gives ring-all de-duplicated addresses with delays and the inbound flag', () => {
    const a = agentForDispatch(policy, 'alice');
    expect(a?.inbound).toBe(true);
    expect(a?.addresses).toEqual([
      { endpoint: 'PJSIP/1001', delayMs: 0 },
      { endpoint: 'Local/5551234@trunk-out', delayMs: 5000, timeoutSec: 20 },
    ]);
    expect(agentForDispatch(policy, 'bob')?.inbound).toBe(false);
    expect(agentForDispatch(policy, 'ghost')).toBeUndefined();
  });
});
