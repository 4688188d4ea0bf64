/**
 * The HTTP API on the real daemon against the simulator (memory Store): app.inject() for the logic,
 * one real listen for the end-to-end path, and fuzzed bodies that must never crash it or return 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulator } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/log.js';

let sim: Simulator;
let daemon: Daemon;
let sam: string;
let alice: string;
let eve: string;

beforeAll(async () => {
  sim = await Simulator.start();
  const config = validateConfig({
    instance: { id: 'http-test' },
    servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' } }],
    http: { enabled: true, host: '127.0.0.1', port: 0, bodyLimit: 1024, rateLimit: { max: 10_000, timeWindowMs: 1000 } },
    directory: {
      users: [
        { id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1001'] },
        { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor' },
        { id: 'eve', name: 'Eve', role: 'agent', scope: 'call_center_agent', extensions: ['1009'], flags: { ipAllow: ['10.9.%.%'] } },
      ],
      groups: [{ id: 'team', members: ['alice'], supervisors: ['sam'] }],
      extensions: [
        { id: '1001', interface: 'PJSIP/1001' },
        { id: '1009', interface: 'PJSIP/1009' },
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
      ],
    },
  });
  daemon = await startDaemon(config, { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
  sam = await daemon.tokens.issue('sam', 't');
  alice = await daemon.tokens.issue('alice', 't');
  eve = await daemon.tokens.issue('eve', 't');
});
afterAll(async () => {
  await daemon.stop();
  await sim.stop();
});

const post = (url: string, token: string | undefined, payload: unknown) =>
  daemon.http!.inject({
    method: 'POST',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    payload: payload as Record<string, unknown>,
  });

describe('HTTP API', () => {
  it('no token or an unknown token: 401', async () => {
    expect((await post('/v1/queue/login', undefined, { extension: '1001', queue: 'support' })).json()).toMatchObject({
      code: 'AGENTGATE_ERR_UNAUTHENTICATED',
    });
    const r = await post('/v1/queue/login', 'agt_nope', { extension: '1001', queue: 'support' });
    expect(r.statusCode).toBe(401);
  });

  it('allowed: the supervisor logs alice in and the PBX shows the member; denied: 403 with the reasons and no AMI action', async () => {
    const r = await post('/v1/queue/login', sam, { extension: '1001', queue: 'support' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, interface: 'PJSIP/1001', ami: { message: 'Added interface to queue' } });
    expect(sim.queues.members('support').map((m) => m.interface)).toEqual(['PJSIP/1001']);
    const before = sim.ami.received.length;
    const d = await post('/v1/queue/logout', alice, { extension: '1001', queue: 'support' });
    expect(d.statusCode).toBe(403);
    expect(d.json()).toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
    expect(
      (d.json() as { decision: { reasons: { name: string; passed: boolean }[] } }).decision.reasons
        .filter((x) => !x.passed)
        .map((x) => x.name),
    ).toContain('extension-grant');
    expect(sim.ami.received.length).toBe(before);
  });

  it('a source address outside the user allow-list: 403 IP_NOT_ALLOWED', async () => {
    const r = await post('/v1/queue/pause', eve, { extension: '1009' });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'AGENTGATE_ERR_IP_NOT_ALLOWED' });
  });

  const bad: Array<[string, string, unknown, number, string, string]> = [
    ['missing extension', 'penalty', { queue: 'support', penalty: 1 }, 400, 'AGENTGATE_ERR_VALIDATION', 'body.extension'],
    ['wrong type', 'penalty', { extension: 1001, penalty: 1 }, 400, 'AGENTGATE_ERR_VALIDATION', 'body.extension'],
    ['negative penalty', 'penalty', { extension: '1001', queue: 'support', penalty: -1 }, 400, 'AGENTGATE_ERR_VALIDATION', 'body.penalty'],
    ['penalty missing on /penalty', 'penalty', { extension: '1001', queue: 'support' }, 400, 'AGENTGATE_ERR_VALIDATION', 'body.penalty'],
    ['CR/LF in reason', 'pause', { extension: '1001', reason: 'lunch\r\nQueue: sales' }, 400, 'AGENTGATE_ERR_CRLF', 'body.reason'],
    ['unknown field', 'penalty', { extension: '1001', queeu: 'support', penalty: 1 }, 400, 'AGENTGATE_ERR_VALIDATION', 'body.queeu'],
    ['unknown queue', 'penalty', { extension: '1001', queue: 'nosuch', penalty: 1 }, 404, 'AGENTGATE_ERR_UNKNOWN_QUEUE', 'body.queue'],
    [
      'unknown extension',
      'penalty',
      { extension: '4242', queue: 'support', penalty: 1 },
      404,
      'AGENTGATE_ERR_UNKNOWN_EXTENSION',
      'body.extension',
    ],
    ['oversized body', 'pause', { extension: '1001', reason: 'x'.repeat(2000) }, 413, 'AGENTGATE_ERR_BODY_TOO_LARGE', ''],
  ];
  for (const [name, action, body, status, code, field] of bad) {
    it(`${name}: ${status} ${code}${field ? ` naming ${field}` : ''}, nothing sent to Asterisk`, async () => {
      const before = sim.ami.received.length;
      const r = await post(`/v1/queue/${action}`, sam, body);
      expect(r.statusCode).toBe(status);
      const j = r.json() as { code: string; field?: string };
      expect(j.code).toBe(code);
      if (field) expect(j.field).toBe(field);
      expect(sim.ami.received.length).toBe(before);
    });
  }

  it('fuzzed bodies never crash the daemon nor get a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('extension', 'queue', 'reason', 'penalty', 'paused', 'x'), fc.jsonValue())),
        async (body) => {
          const r = await daemon.http!.inject({
            method: 'POST',
            url: '/v1/queue/pause',
            headers: { authorization: `Bearer ${sam}`, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          });
          expect(r.statusCode).toBeLessThan(500);
          expect(typeof (r.json() as { code?: unknown }).code === 'string' || r.statusCode === 200).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('capabilities say which buttons to show', async () => {
    const r = await daemon.http!.inject({ method: 'GET', url: '/v1/me/capabilities', headers: { authorization: `Bearer ${alice}` } });
    expect(r.statusCode).toBe(200);
    const c = r.json() as { queueButton: boolean; actions: Record<string, { extensions: string[] }> };
    expect(c.queueButton).toBe(true);
    expect(c.actions.pause!.extensions).toEqual(['1001']);
    expect(c.actions.login!.extensions).toEqual([]);
  });

  it('serves the OpenAPI document built from the route schemas, and works over a real socket', async () => {
    const res = await fetch(`${daemon.httpUrl}/docs/json`);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/queue/login', '/v1/queue/members', '/v1/audit', '/v1/policy/changes']),
    );
    const m = await fetch(`${daemon.httpUrl}/v1/queue/members?queue=support`, { headers: { authorization: `Bearer ${sam}` } });
    expect(m.status).toBe(200);
  });

  it('policy change: a supervisor may not edit grants (403 with why); the version is checked', async () => {
    const r = await post('/v1/policy/changes', sam, {
      expectedVersion: daemon.policy.current().version,
      change: { op: 'remove-grant', id: 'alice-self' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'AGENTGATE_ERR_POLICY_ADMIN' });
    const stale = await post('/v1/policy/changes', sam, { expectedVersion: 999, change: { op: 'remove-grant', id: 'alice-self' } });
    expect(stale.statusCode).toBe(409);
  });
});
