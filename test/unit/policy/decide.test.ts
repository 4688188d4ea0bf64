import { beforeEach, describe, expect, it } from 'vitest';
import {
  decide,
  explain,
  plainDecision,
  type CheckName,
  type CompiledPolicy,
  type DecisionRequest,
} from '../../../src/domain/policy/index.js';
import { loadPolicy } from './fixture.js';

let policy: CompiledPolicy;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  policy = loadPolicy();
});

interface Row {
  name: string;
  req: DecisionRequest;
  allowed: boolean;
  /** checks that must fail (exactly these) */
  failing?: CheckName[];
  matched?: string[];
  /** text the explanation must contain */
  says?: string;
}

const rows: Row[] = [
  // --- grants: login needs the extension AND the queue
  {
    name: 'agent logs its own extension into a granted queue',
    req: { actor: 'alice', action: 'login', extension: '1001', queue: 'support' },
    allowed: true,
    matched: ['agents-self'],
  },
  {
    name: 'login into a queue without a queue grant names the queue half',
    req: { actor: 'alice', action: 'login', extension: '1001', queue: 'sales' },
    allowed: false,
    failing: ['queue-grant'],
    says: 'no grant lets user:alice or group:support-team login queue:sales',
  },
  {
    name: 'login with a queue grant but no extension grant names the extension half',
    req: { actor: 'dave', action: 'login', extension: '1009', queue: 'support' },
    allowed: false,
    failing: ['extension-grant'],
    says: 'no grant lets user:dave login extension:1009',
  },
  {
    name: 'group subject, no grant on that queue (the README example)',
    req: { actor: 'night1', action: 'login', extension: '2001', queue: 'late' },
    allowed: false,
    failing: ['queue-grant'],
    says: 'no grant lets user:night1 or group:night login queue:late',
  },
  {
    name: 'group subject with both halves',
    req: { actor: 'night1', action: 'logout', extension: '2001', queue: 'night-q' },
    allowed: true,
    matched: ['night-self'],
  },
  {
    name: 'the granted action only: night grant has no pause',
    req: { actor: 'night1', action: 'pause', extension: '2001' },
    allowed: false,
    failing: ['extension-grant'],
  },
  {
    name: 'login without a queue is refused',
    req: { actor: 'alice', action: 'login', extension: '1001' },
    allowed: false,
    failing: ['target'],
    says: 'login needs a queue',
  },
  {
    name: 'pause needs no queue permission',
    req: { actor: 'alice', action: 'pause', extension: '1001' },
    allowed: true,
    matched: ['agents-self'],
  },
  {
    name: 'pause in a named queue without a grant on it is still allowed',
    req: { actor: 'alice', action: 'pause', extension: '1001', queue: 'sales' },
    allowed: true,
  },
  {
    name: 'user target stands for that user’s extensions',
    req: { actor: 'carol', action: 'login', extension: '1003', queue: 'sales' },
    allowed: true,
    matched: ['carol-self'],
  },
  {
    name: 'membership declared only on the group side counts',
    req: { actor: 'bob', action: 'logout', extension: '1002', queue: 'support' },
    allowed: true,
    matched: ['agents-self'],
  },
  {
    name: 'extension and queue on different PBXs',
    req: { actor: 'mike', action: 'login', extension: '2001', queue: 'support' },
    allowed: false,
    failing: ['target', 'scope'],
    says: 'is on pbx2 but queue support is on pbx1',
  },

  // --- scopes
  {
    name: 'call_center_agent: not on another agent’s extension',
    req: { actor: 'alice', action: 'pause', extension: '1002' },
    allowed: false,
    failing: ['scope', 'role'],
  },
  {
    name: 'call_center_agent: no penalty even with a grant',
    req: { actor: 'alice', action: 'penalty', extension: '1001' },
    allowed: false,
    failing: ['scope'],
    says: 'does not allow penalty',
  },
  {
    name: 'basic_user: no queue operations even with a grant',
    req: { actor: 'basil', action: 'pause', extension: '1007' },
    allowed: false,
    failing: ['scope'],
  },
  {
    name: 'no_portal: nothing even with a grant',
    req: { actor: 'nina', action: 'login', extension: '1008', queue: 'support' },
    allowed: false,
    failing: ['scope'],
  },
  {
    name: 'office_manager: extension of another PBX',
    req: { actor: 'mike', action: 'pause', extension: '2001' },
    allowed: false,
    failing: ['scope'],
    says: 'covers PBX pbx1',
  },
  {
    name: 'office_manager: unowned hot desk of its PBX',
    req: { actor: 'mike', action: 'pause', extension: '1010' },
    allowed: true,
    matched: ['mike-office'],
  },
  {
    name: 'call_center_supervisor: queue agent reachable through a granted queue',
    req: { actor: 'sue', action: 'pause', extension: '1003' },
    allowed: true,
    matched: ['sue-team'],
  },

  // --- roles and supervision
  {
    name: 'supervisor on a member of the group it supervises',
    req: { actor: 'sam', action: 'penalty', extension: '1001' },
    allowed: true,
    matched: ['sam-team'],
  },
  {
    name: 'supervisor outside its groups is denied although a grant covers the target',
    req: { actor: 'sam', action: 'pause', extension: '1003' },
    allowed: false,
    failing: ['supervision'],
    says: 'supervisor sam acts only on members of the groups it supervises (support-team); carol is not one',
  },
  {
    name: 'supervisor on a peer supervisor: role bound',
    req: { actor: 'sam', action: 'pause', extension: '1005' },
    allowed: false,
    failing: ['role', 'supervision'],
  },
  { name: 'supervisor on itself', req: { actor: 'sam', action: 'pause', extension: '1004' }, allowed: true, matched: ['sam-team'] },
  {
    name: 'manager acts on a lower role',
    req: { actor: 'mike', action: 'unpause', extension: '1004' },
    allowed: true,
    matched: ['mike-office'],
  },
  {
    name: 'nobody acts on a higher role (manager on owner)',
    req: { actor: 'mike', action: 'pause', extension: '1011' },
    allowed: false,
    failing: ['role'],
    says: 'mike (manager) may not act on oscar (owner)',
  },
  {
    name: 'administrator across teams in its PBX',
    req: { actor: 'olivia', action: 'login', extension: '1003', queue: 'sales' },
    allowed: true,
    matched: ['olivia-all'],
  },

  // --- unknowns: deny, never throw
  {
    name: 'unknown actor',
    req: { actor: 'mallory', action: 'login', extension: '1001', queue: 'support' },
    allowed: false,
    failing: ['actor'],
  },
  { name: 'unknown extension', req: { actor: 'alice', action: 'pause', extension: '9999' }, allowed: false, failing: ['target'] },
  {
    name: 'unknown queue',
    req: { actor: 'alice', action: 'login', extension: '1001', queue: 'nope' },
    allowed: false,
    failing: ['target'],
  },
  { name: 'unknown action', req: { actor: 'alice', action: 'explode' as never, extension: '1001' }, allowed: false, failing: ['target'] },

  // --- IP allow-list
  {
    name: '% wildcard octet matches',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '10.0.3.77', source: 'http' },
    allowed: true,
  },
  {
    name: 'outside the allow-list',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '10.0.4.1', source: 'http' },
    allowed: false,
    failing: ['ip'],
    says: '10.0.4.1 is not in alice',
  },
  {
    name: 'plain address in the list',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '192.168.1.20', source: 'http' },
    allowed: true,
  },
  {
    name: 'IPv6 literal, other spelling',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '0:0:0:0:0:0:0:1', source: 'http' },
    allowed: true,
  },
  {
    name: 'IPv4-mapped source matches the IPv4 pattern',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '::ffff:10.0.3.5', source: 'http' },
    allowed: true,
  },
  {
    name: 'http without a source address is refused',
    req: { actor: 'alice', action: 'pause', extension: '1001', source: 'http' },
    allowed: false,
    failing: ['ip'],
  },
  {
    name: 'dialplan source has no address to check',
    req: { actor: 'alice', action: 'pause', extension: '1001', source: 'dialplan' },
    allowed: true,
  },
  {
    name: 'empty allow-list = any address',
    req: { actor: 'bob', action: 'pause', extension: '1002', ip: '203.0.113.9', source: 'http' },
    allowed: true,
  },
];

describe('decide (table)', () => {
  it.each(rows)('$name', (row) => {
    const d = decide(policy, row.req);
    expect(d.allowed).toBe(row.allowed);
    const failing = d.reasons.filter((r) => !r.passed).map((r) => r.name);
    if (row.allowed) expect(failing).toEqual([]);
    if (row.failing) expect(failing.sort()).toEqual([...row.failing].sort());
    if (row.matched) expect(d.matched).toEqual(row.matched);
    const text = explain(d, row.req);
    expect(text.split('\n')[0]).toMatch(row.allowed ? /^ALLOWED: / : /^DENIED: /);
    if (row.says) expect(text).toContain(row.says);
    for (const f of failing) expect(text).toContain(`✗ ${f}:`);
  });

  it('reports every check that ran with its grants', () => {
    const d = decide(policy, { actor: 'alice', action: 'login', extension: '1001', queue: 'support', ip: '10.0.3.1', source: 'http' });
    expect(d.reasons.map((r) => r.name)).toEqual(['actor', 'target', 'ip', 'scope', 'role', 'extension-grant', 'queue-grant']);
    expect(d.reasons.find((r) => r.name === 'queue-grant')?.grants).toEqual(['agents-self']);
  });

  it('lists every matching grant in document order, once', () => {
    const d = decide(policy, { actor: 'olivia', action: 'login', extension: '1001', queue: 'support' });
    expect(d.allowed).toBe(true);
    expect(d.matched).toEqual(['olivia-all']);
    const s = decide(policy, { actor: 'sam', action: 'login', extension: '1001', queue: 'sales' });
    expect(s.matched).toEqual(['sam-team']);
  });

  it('carries every sentence into JSON and plain copies (audit records, HTTP 403 bodies)', () => {
    for (const row of rows) {
      const d = decide(policy, row.req);
      const json = JSON.parse(JSON.stringify(d)) as { allowed: boolean; reasons: { name: string; detail: string }[] };
      const plain = plainDecision(d);
      expect(json).toEqual(plain);
      expect(structuredClone(plain)).toEqual(plain);
      expect(json.reasons.every((r) => r.detail.length > 0)).toBe(true);
      expect(json.reasons.map((r) => r.detail)).toEqual(d.reasons.map((r) => r.detail));
    }
  });
});
