/**
 * Issue 12, the HTTP parts: each describe is one defect, driven the way a client would — over a real
 * socket (query strings as URL text, headers as sent) unless only the route's logic is in question.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Simulator } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { AgentgateError } from '../../src/errors/codes.js';
import type { Store } from '../../src/ports/store.js';
import { sha256 } from '../../src/app/tokens.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/log.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';

const directory = {
  users: [
    {
      id: 'alice',
      name: 'Alice',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1001'],
      addresses: ['PJSIP/1001'],
    },
    {
      id: 'bob',
      name: 'Bob',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1002'],
      addresses: ['PJSIP/1002', 'PJSIP/bob-mobile'],
      flags: { ipAllow: ['127.0.0.1', '10.9.%.%'] },
    },
    { id: 'carl', name: 'Carl', role: 'agent', scope: 'call_center_agent', extensions: ['1003'], addresses: ['PJSIP/1003'] },
    { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor', addresses: ['PJSIP/sam'] },
    { id: 'mia', name: 'Mia', role: 'manager', scope: 'office_manager' },
    { id: 'olga', name: 'Olga', role: 'administrator', scope: 'office_manager' },
    { id: 'adam', name: 'Adam', role: 'administrator', scope: 'office_manager' },
    { id: 'oscar', name: 'Oscar', role: 'owner', scope: 'office_manager' },
    { id: 'owen', name: 'Owen', role: 'owner', scope: 'office_manager' },
  ],
  groups: [{ id: 'team', members: ['alice', 'bob'], supervisors: ['sam'] }],
  extensions: [
    { id: '1001', interface: 'PJSIP/1001' },
    { id: '1002', interface: 'PJSIP/1002' },
    { id: '1003', interface: 'PJSIP/1003' },
  ],
  queues: [{ id: 'support' }, { id: 'sales' }],
  grants: [
    {
      id: 'sam-team',
      subject: 'user:sam',
      actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
      targets: ['group:team', 'queue:support'],
    },
    { id: 'alice-self', subject: 'user:alice', actions: ['pause', 'unpause'], targets: ['user:alice'] },
    {
      id: 'olga-all',
      subject: 'user:olga',
      actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
      targets: ['group:team', 'user:carl', 'queue:support', 'queue:sales'],
    },
  ],
};

function config(
  sim: Simulator,
  over: { ari?: boolean; http?: Record<string, unknown>; store?: Record<string, unknown>; tokens?: unknown[] } = {},
) {
  return validateConfig({
    instance: { id: `http-hardening-${Math.random().toString(36).slice(2, 8)}` },
    servers: [
      {
        name: 'pbx1',
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 2000 },
        ...(over.ari
          ? { ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 } }
          : {}),
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 10_000, timeWindowMs: 1000 }, ...over.http },
    ...(over.store ? { store: over.store } : {}),
    tokens: over.tokens ?? [],
    directory,
  });
}

interface Answer {
  status: number;
  body: { code?: string; field?: string; message?: string } & Record<string, unknown>;
  headers: Headers;
}

/** One request over the daemon's real socket; `token` goes in as `Bearer <token>` unless `auth` is given. */
async function call(
  d: Daemon,
  method: string,
  path: string,
  opts: { token?: string; auth?: string; body?: unknown; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  else if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${d.httpUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Answer['body']), headers: res.headers };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('issue 12: the HTTP API under hostile input', () => {
  let sim: Simulator;
  let daemon: Daemon;
  const tok: Record<string, string> = {};

  beforeAll(async () => {
    sim = await Simulator.start();
    daemon = await startDaemon(config(sim), { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
    for (const u of directory.users) tok[u.id] = await daemon.tokens.issue(u.id, 'test');
  });
  afterAll(async () => {
    await daemon.stop();
    await sim.stop();
  });

  describe('#4 nobody mints a token for a user of equal or higher role', () => {
    const cases: Array<[string, string, string | undefined, number]> = [
      ['an administrator for the owner', 'olga', 'oscar', 403],
      ['an administrator for another administrator', 'olga', 'adam', 403],
      ['an owner for another owner', 'oscar', 'owen', 403],
      ['a manager for an agent (not an administrator)', 'mia', 'alice', 403],
      ['an agent for another agent', 'alice', 'bob', 403],
      ['an administrator for a manager', 'olga', 'mia', 200],
      ['an owner for an administrator', 'oscar', 'olga', 200],
      ['an owner for itself', 'oscar', 'oscar', 200],
      ['an agent for itself (no user given)', 'alice', undefined, 200],
    ];
    for (const [name, actor, user, status] of cases) {
      it(`${name}: ${status}`, async () => {
        const r = await call(daemon, 'POST', '/v1/tokens', {
          token: tok[actor],
          body: user === undefined ? { label: 'x' } : { user, label: 'x' },
        });
        expect(r.status).toBe(status);
        if (status === 403) expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN', field: 'body.user' });
        else expect(r.body).toMatchObject({ user: user ?? actor });
      });
    }

    it('the administrator cannot make itself owner through an owner token: the first step is refused and audited', async () => {
      const r = await call(daemon, 'POST', '/v1/tokens', { token: tok.olga, body: { user: 'oscar', label: 'escalate' } });
      expect(r.status).toBe(403);
      expect(r.body).not.toHaveProperty('token');
      const audit = await call(daemon, 'GET', '/v1/audit?kind=token&actor=olga&result=denied', { token: tok.oscar });
      const entries = audit.body.entries as Array<{
        actor: string;
        action: string;
        result: string;
        detail: { user: string; label: string };
      }>;
      expect(entries.find((e) => e.detail.label === 'escalate')).toMatchObject({
        actor: 'olga',
        action: 'issue',
        result: 'denied',
        detail: { user: 'oscar' },
      });
    });

    it('the audit says who minted a token for whom', async () => {
      const r = await call(daemon, 'POST', '/v1/tokens', { token: tok.olga, body: { user: 'carl', label: 'carl-desk' } });
      expect(r.status).toBe(200);
      const audit = await call(daemon, 'GET', '/v1/audit?kind=token&actor=olga&result=ok', { token: tok.oscar });
      const entries = audit.body.entries as Array<{ actor: string; detail: { user: string; label: string; tokenHash: string } }>;
      expect(entries.find((e) => e.detail.label === 'carl-desk')).toMatchObject({
        actor: 'olga',
        detail: { user: 'carl', tokenHash: r.body.tokenHash },
      });
    });

    it('an administrator cannot revoke the owner’s token either', async () => {
      const r = await call(daemon, 'DELETE', `/v1/tokens/${sha256(tok.oscar!)}`, { token: tok.olga });
      expect(r.status).toBe(403);
      expect((await call(daemon, 'GET', '/v1/me/capabilities', { token: tok.oscar })).status).toBe(200);
    });
  });

  describe('#8 query strings are parsed as integers', () => {
    it('GET /v1/audit?limit=5&since=…&until=… pages the audit', async () => {
      for (let i = 0; i < 7; i++) await call(daemon, 'POST', '/v1/queue/pause', { token: tok.carl, body: { extension: '1003' } }); // denied: audited
      const now = Date.now();
      const r = await call(daemon, 'GET', `/v1/audit?limit=5&since=0&until=${now + 60_000}`, { token: tok.oscar });
      expect(r.status).toBe(200);
      expect((r.body.entries as unknown[]).length).toBe(5);
      const none = await call(daemon, 'GET', `/v1/audit?since=${now + 60_000}`, { token: tok.oscar });
      expect(none.body.entries).toEqual([]);
    });

    const bad: Array<[string, string]> = [
      ['limit=abc', 'query.limit'],
      ['limit=0', 'query.limit'],
      ['limit=5.5', 'query.limit'],
      ['limit=5&limit=6', 'query.limit'],
      ['since=-1', 'query.since'],
      ['until=1e3x', 'query.until'],
      ['nope=1', 'query.nope'],
    ];
    for (const [qs, field] of bad) {
      it(`?${qs}: 400 naming ${field}`, async () => {
        const r = await call(daemon, 'GET', `/v1/audit?${qs}`, { token: tok.oscar });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_VALIDATION', field });
      });
    }
  });

  describe('#9 authentication comes first', () => {
    it('an unauthenticated caller gets 401, not the schema’s detail in a 400', async () => {
      const r = await call(daemon, 'POST', '/v1/queue/pause', { body: { nope: 1 } });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ code: 'AGENTGATE_ERR_UNAUTHENTICATED', message: 'Missing or unknown API token' });
      const bad = await call(daemon, 'POST', '/v1/policy/changes', { token: 'agt_wrong', body: { change: 1 } });
      expect(bad.status).toBe(401);
    });
  });

  describe('#10 bad policy changes are 400s naming the field, never 500', () => {
    const v = () => daemon.policy.current().version;
    const bad: Array<[string, unknown, string]> = [
      ['put-user without user', { op: 'put-user' }, 'body.change.user'],
      ["put-user with user: 'x'", { op: 'put-user', user: 'x' }, 'body.change.user'],
      ['add-grant with grant: null', { op: 'add-grant', grant: null }, 'body.change.grant'],
      ['add-grant without grant', { op: 'add-grant' }, 'body.change.grant'],
      ['an unknown op', { op: 'drop' }, 'body.change.op'],
      ['no op', { id: 'x' }, 'body.change.op'],
      ['put-user with a bad role', { op: 'put-user', user: { id: 'zed', role: 'god', scope: 'basic_user' } }, 'body.change.user.role'],
      [
        'put-user with a bad id (checked by the domain)',
        { op: 'put-user', user: { id: 'Zed Z', role: 'agent', scope: 'basic_user' } },
        'body.change.user.id',
      ],
      ['a field the op does not take', { op: 'remove-user', id: 'carl', user: {} }, 'body.change.user'],
    ];
    for (const [name, change, field] of bad) {
      it(`${name}: 400 naming ${field}`, async () => {
        const r = await call(daemon, 'POST', '/v1/policy/changes', { token: tok.oscar, body: { expectedVersion: v(), change } });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_VALIDATION', field });
      });
    }

    it('a well-formed change still works (a new agent with default flags)', async () => {
      const r = await call(daemon, 'POST', '/v1/policy/changes', {
        token: tok.olga,
        body: { expectedVersion: v(), change: { op: 'put-user', user: { id: 'zed', role: 'agent', scope: 'basic_user' } } },
      });
      expect(r.status).toBe(200);
      expect(daemon.policy.current().doc.users.find((u) => u.id === 'zed')?.flags.inbound).toBe(false);
    });

    it('fuzz: no body on POST /v1/policy/changes gets a 500', async () => {
      const field = fc.constantFrom(
        'op',
        'id',
        'user',
        'grant',
        'group',
        'extension',
        'queue',
        'role',
        'scope',
        'members',
        'actions',
        'targets',
        'flags',
        'groups',
      );
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
      );
      const value = fc.letrec<{ v: unknown }>((tie) => ({
        v: fc.oneof({ depthSize: 'small' }, fc.jsonValue(), fc.dictionary(field, tie('v'), { maxKeys: 4 })),
      })).v;
      await fc.assert(
        fc.asyncProperty(fc.record({ op: ops }, { requiredKeys: [] }), fc.dictionary(field, value, { maxKeys: 3 }), async (base, rest) => {
          const r = await daemon.http!.inject({
            method: 'POST',
            url: '/v1/policy/changes',
            headers: { authorization: `Bearer ${tok.oscar}`, 'content-type': 'application/json' },
            payload: JSON.stringify({ expectedVersion: daemon.policy.current().version, change: { ...rest, ...base } }),
          });
          expect(r.statusCode).toBeLessThan(500);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('#12 control characters are refused before AMI', () => {
    const controls: Array<[string, string]> = [
      ['NUL', '\u0000'],
      ['ESC', '\u001b'],
      ['VT', '\u000b'],
      ['FF', '\u000c'],
      ['DEL', '\u007f'],
      ['CR', '\r'],
    ];
    for (const [name, c] of controls) {
      it(`${name} in reason, extension or queue: 400 AGENTGATE_ERR_CRLF naming the field, nothing sent to Asterisk`, async () => {
        const before = sim.ami.received.length;
        for (const [body, field] of [
          [{ extension: '1001', reason: `lunch${c}Queue: sales` }, 'body.reason'],
          [{ extension: `1001${c}` }, 'body.extension'],
          [{ extension: '1001', queue: `support${c}` }, 'body.queue'],
        ] as const) {
          const r = await call(daemon, 'POST', '/v1/queue/pause', { token: tok.sam, body });
          expect(r.status).toBe(400);
          expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_CRLF', field });
          expect(r.body.message).toMatch(/control character/);
        }
        expect(sim.ami.received.length).toBe(before);
      });
    }

    it('in a policy change (an interface that would reach AMI): AGENTGATE_ERR_CRLF naming the field', async () => {
      const r = await call(daemon, 'POST', '/v1/policy/changes', {
        token: tok.oscar,
        body: {
          expectedVersion: daemon.policy.current().version,
          change: { op: 'put-extension', extension: { id: '1009', interface: 'PJSIP/1009\u001b' } },
        },
      });
      expect(r).toMatchObject({ status: 400, body: { code: 'AGENTGATE_ERR_CRLF', field: 'body.change.extension.interface' } });
    });

    it('in a token label: AGENTGATE_ERR_CRLF', async () => {
      const r = await call(daemon, 'POST', '/v1/tokens', { token: tok.alice, body: { label: 'a\u0000b' } });
      expect(r).toMatchObject({ status: 400, body: { code: 'AGENTGATE_ERR_CRLF', field: 'body.label' } });
    });
  });

  describe('#13 smaller ones', () => {
    it('field paths have one form: body.<path>, query.<name>, params.<name> (validation and use-case errors alike)', async () => {
      const q = await call(daemon, 'GET', '/v1/queue/members?queue=support&bogus=1', { token: tok.sam });
      expect(q.body.field).toBe('query.bogus');
      const uc = await call(daemon, 'POST', '/v1/queue/penalty', {
        token: tok.sam,
        body: { extension: '1001', queue: 'nosuch', penalty: 1 },
      });
      expect(uc.body).toMatchObject({ code: 'AGENTGATE_ERR_UNKNOWN_QUEUE', field: 'body.queue' });
      const p = await call(daemon, 'DELETE', '/v1/tokens/XYZ', { token: tok.sam });
      expect(p.body).toMatchObject({ code: 'AGENTGATE_ERR_VALIDATION', field: 'params.hash' });
      const nf = await call(daemon, 'DELETE', `/v1/tokens/${'0'.repeat(64)}`, { token: tok.oscar });
      expect(nf.body).toMatchObject({ code: 'AGENTGATE_ERR_NOT_FOUND', field: 'params.hash' });
    });

    it('415 has its own code', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const r = await call(daemon, 'POST', '/v1/queue/pause', { token: tok.sam, body: 'extension=1001', contentType });
        expect(r.status).toBe(415);
        expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE', field: 'headers.content-type' });
      }
    });

    const ignored: Array<[string, unknown, string]> = [
      ['penalty on /pause', { extension: '1001', penalty: 5 }, 'body.penalty'],
      ['reason on /unpause', { extension: '1001', reason: 'x' }, 'body.reason'],
      ['reason on /logout', { extension: '1001', queue: 'support', reason: 'x' }, 'body.reason'],
      ['paused on /penalty', { extension: '1001', penalty: 1, paused: true }, 'body.paused'],
      ['reason on /login without paused: true', { extension: '1001', queue: 'support', reason: 'x' }, 'body.reason'],
    ];
    for (const [name, body, field] of ignored) {
      it(`${name} is refused naming ${field}, not silently ignored`, async () => {
        const action = name.split('/')[1]!.split(' ')[0]!;
        const before = sim.ami.received.length;
        const r = await call(daemon, 'POST', `/v1/queue/${action}`, { token: tok.sam, body });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_VALIDATION', field });
        expect(sim.ami.received.length).toBe(before);
      });
    }

    it('GET /v1/policy: an agent sees only itself', async () => {
      const r = await call(daemon, 'GET', '/v1/policy', { token: tok.alice });
      const doc = r.body.doc as { users: Array<{ id: string }>; extensions: Array<{ id: string }>; groups: Array<{ members: string[] }> };
      expect(r.body.view).toBe('restricted');
      expect(doc.users.map((u) => u.id)).toEqual(['alice']);
      expect(doc.extensions.map((e) => e.id)).toEqual(['1001']);
      expect(doc.groups.flatMap((g) => g.members)).toEqual(['alice']);
      expect(JSON.stringify(r.body)).not.toMatch(/bob-mobile|10\.9\./);
    });

    it('GET /v1/policy: a supervisor sees its agents without their addresses and allow-lists; an administrator sees everything', async () => {
      const s = await call(daemon, 'GET', '/v1/policy', { token: tok.sam });
      const users = (s.body.doc as { users: Array<{ id: string; addresses?: unknown; flags: { ipAllow?: unknown } }> }).users;
      expect(users.map((u) => u.id).sort()).toEqual(['alice', 'bob', 'sam']);
      const bob = users.find((u) => u.id === 'bob')!;
      expect(bob.addresses).toBeUndefined();
      expect(bob.flags.ipAllow).toBeUndefined();
      expect(users.find((u) => u.id === 'sam')!.addresses).toEqual([{ endpoint: 'PJSIP/sam', delayMs: 0 }]);
      const a = await call(daemon, 'GET', '/v1/policy', { token: tok.olga });
      expect(a.body.view).toBe('full');
      expect(JSON.stringify(a.body)).toMatch(/bob-mobile/);
    });
  });
});

describe('#9 rate limits cannot be dodged', () => {
  let sim: Simulator;
  let daemon: Daemon;
  let sam: string;
  beforeAll(async () => {
    sim = await Simulator.start();
    daemon = await startDaemon(
      config(sim, { http: { rateLimit: { max: 4, timeWindowMs: 60_000 }, authFailures: { max: 3, timeWindowMs: 60_000 } } }),
      {
        store: createMemoryStore({ clock: systemClock() }),
        logger: silentLogger(),
      },
    );
    sam = await daemon.tokens.issue('sam', 'test');
  });
  afterAll(async () => {
    await daemon.stop();
    await sim.stop();
  });

  it('extra spaces or a tab after Bearer count against the same token', async () => {
    const spellings = [`Bearer ${sam}`, `Bearer  ${sam}`, `Bearer   ${sam}`, `Bearer\t${sam}`, `Bearer    ${sam}`, `Bearer ${sam} `];
    const statuses: number[] = [];
    for (const auth of spellings) statuses.push((await call(daemon, 'GET', '/v1/me/capabilities', { auth })).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(4)).toEqual([429, 429]);
  });

  it('guessing tokens is limited per source address; other addresses are not affected', async () => {
    const from = (remoteAddress: string, token: string) =>
      daemon.http!.inject({ method: 'GET', url: '/v1/me/capabilities', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++) guesses.push((await from('10.20.30.40', `agt_guess${i}`)).statusCode);
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    // Blocked means blocked: a right guess from there is not even looked at (it would tell).
    const fresh = await daemon.tokens.issue('alice', 'fresh');
    const blocked = await from('10.20.30.40', fresh);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await from('10.20.30.41', fresh)).statusCode).toBe(200);
    // An IPv6 client cannot step around it by changing the low 64 bits.
    for (let i = 0; i < 3; i++) await from(`2001:db8:1:2::${i + 1}`, `agt_v6guess${i}`);
    expect((await from('2001:db8:1:2:ffff::9', 'agt_more')).statusCode).toBe(429);
  });
});

describe('#7 /readyz tells the truth', () => {
  let sim: Simulator;
  let daemon: Daemon;
  let mode: 'up' | 'reject' | 'hang' = 'up';
  beforeAll(async () => {
    sim = await Simulator.start({ amiPort: await freePort() });
    const memory = createMemoryStore({ clock: systemClock() });
    // A Store whose every call rejects (Redis refusing) or never answers (Redis frozen) on demand.
    const store = new Proxy(memory, {
      get(target, prop, receiver) {
        const f = Reflect.get(target, prop, receiver) as unknown;
        if (typeof f !== 'function' || prop === 'close') return f;
        return (...args: unknown[]) => {
          if (mode === 'reject')
            return Promise.reject(new AgentgateError('AGENTGATE_ERR_STORE', { detail: 'connect ECONNREFUSED 127.0.0.1:6390' }));
          if (mode === 'hang') return new Promise(() => undefined);
          return (f as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    daemon = await startDaemon(config(sim, { ari: true }), { store, logger: silentLogger(), readyTimeoutMs: 300 });
    await vi.waitFor(async () => expect((await call(daemon, 'GET', '/readyz')).status).toBe(200), { timeout: 10_000, interval: 50 });
  });
  afterAll(async () => {
    mode = 'up';
    await daemon.stop();
    await sim.stop();
  });

  const failing = async () => {
    const r = await call(daemon, 'GET', '/readyz');
    return {
      status: r.status,
      failing: (r.body.failing as Array<{ component: string; reason: string }>).map((f) => f.component),
      body: r.body,
    };
  };

  it('503 naming the store while Redis refuses, and while it does not answer; 200 when it is back', async () => {
    mode = 'reject';
    const refused = await failing();
    expect(refused).toMatchObject({ status: 503, failing: ['store'] });
    expect(JSON.stringify(refused.body)).toMatch(/ECONNREFUSED/);
    mode = 'hang';
    const frozen = await failing();
    expect(frozen).toMatchObject({ status: 503, failing: ['store'] });
    expect(JSON.stringify(frozen.body)).toMatch(/no answer within 300 ms/);
    mode = 'up';
    expect((await failing()).status).toBe(200);
  });

  it('503 naming ari:pbx1 while the ARI websocket is down, 200 once it reconnected', async () => {
    sim.faults.dropAriWebsockets(1500);
    await vi.waitFor(async () => expect(await failing()).toMatchObject({ status: 503, failing: ['ari:pbx1'] }), {
      timeout: 5000,
      interval: 20,
    });
    await vi.waitFor(async () => expect((await failing()).status).toBe(200), { timeout: 15_000, interval: 100 });
  });

  it('503 naming ami:pbx1 while the AMI connection is down, 200 once it reconnected', async () => {
    await sim.ami.stop();
    await vi.waitFor(async () => expect(await failing()).toMatchObject({ status: 503, failing: ['ami:pbx1'] }), {
      timeout: 5000,
      interval: 20,
    });
    await sim.ami.start();
    await vi.waitFor(async () => expect((await failing()).status).toBe(200), { timeout: 15_000, interval: 100 });
  });
});

describe('#11 config tokens survive Redis restarting empty', () => {
  let sim: Simulator;
  let daemon: Daemon;
  const prefix = uniquePrefix();
  const configToken = 'agt_config-token-for-sam';
  beforeAll(async () => {
    sim = await Simulator.start();
    daemon = await startDaemon(
      config(sim, { store: { redis: { url: REDIS_URL, prefix } }, tokens: [{ user: 'sam', sha256: sha256(configToken), label: 'ops' }] }),
      { logger: silentLogger() },
    );
  });
  afterAll(async () => {
    await daemon.stop();
    await sim.stop();
    await deletePrefix(prefix);
  });

  it('after every key is gone (Redis restarted empty) the config token still answers, and readiness says so', async () => {
    const apiToken = await daemon.tokens.issue('alice', 'api');
    await deletePrefix(prefix);
    const r = await call(daemon, 'GET', '/v1/me/capabilities', { token: configToken });
    expect(r.status).toBe(200);
    expect((await call(daemon, 'GET', '/readyz')).status).toBe(200);
    // Tokens issued over the API lived only in Redis: they are gone with it (401), as documented.
    expect((await call(daemon, 'GET', '/v1/me/capabilities', { token: apiToken })).status).toBe(401);
  });

  it('a config token is not revoked over the API (409 naming params.hash): the config is its source of truth', async () => {
    const oscar = await daemon.tokens.issue('oscar', 'x');
    const r = await call(daemon, 'DELETE', `/v1/tokens/${sha256(configToken)}`, { token: oscar });
    expect(r).toMatchObject({ status: 409, body: { code: 'AGENTGATE_ERR_CONFLICT', field: 'params.hash' } });
    expect((await call(daemon, 'GET', '/v1/me/capabilities', { token: configToken })).status).toBe(200);
  });
});

/** A TCP proxy to Redis that can be cut (Redis unreachable) and restored on the same port. */
async function redisProxy(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const x of [client, upstream]) {
        sockets.add(x);
        x.on('close', () => sockets.delete(x));
        x.on('error', () => x.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const x of sockets) x.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

describe('#7/#11 with a real Redis that goes away and comes back empty', () => {
  let sim: Simulator;
  let daemon: Daemon;
  let proxy: Awaited<ReturnType<typeof redisProxy>>;
  const prefix = uniquePrefix();
  const configToken = 'agt_config-token-for-sam-2';
  beforeAll(async () => {
    sim = await Simulator.start();
    proxy = await redisProxy();
    daemon = await startDaemon(
      config(sim, { store: { redis: { url: proxy.url, prefix } }, tokens: [{ user: 'sam', sha256: sha256(configToken) }] }),
      { logger: silentLogger(), readyTimeoutMs: 500 },
    );
  });
  afterAll(async () => {
    await daemon.stop();
    await proxy.close();
    await sim.stop();
    await deletePrefix(prefix);
  });

  it('/readyz is 503 naming the store while Redis is unreachable; after it returns empty, 200 and the config token works', async () => {
    const ready = async () => {
      const r = await call(daemon, 'GET', '/readyz');
      return { status: r.status, failing: (r.body.failing as Array<{ component: string }>).map((f) => f.component) };
    };
    expect(await ready()).toEqual({ status: 200, failing: [] });
    await proxy.cut();
    expect(await ready()).toEqual({ status: 503, failing: ['store'] });
    await deletePrefix(prefix); // Redis comes back with nothing in it
    await proxy.restore();
    await vi.waitFor(async () => expect(await ready()).toEqual({ status: 200, failing: [] }), { timeout: 10_000, interval: 100 });
    expect((await call(daemon, 'GET', '/v1/me/capabilities', { token: configToken })).status).toBe(200);
  });
});
