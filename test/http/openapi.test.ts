/**
 * The OpenAPI document a running daemon serves at /docs/json is one a client generator accepts:
 * Redocly's `recommended` rules (the engine of `redocly lint`) find nothing, every operation has an
 * operationId and a success response with a schema, `servers` says where this daemon listens, every
 * policy-change op is documented (here and in docs/api.md), and real answers match the documented
 * success schemas.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Simulator } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/log.js';
import { POLICY_CHANGES } from '../../src/adapters/http/schemas.js';
import { openApiServers } from '../../src/adapters/http/openapi.js';
import { until } from '../support/dispatch-harness.js';

interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDoc {
  openapi: string;
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let sim: Simulator;
let daemon: Daemon;
let doc: OpenApiDoc;
let raw: string;
let olivia: string;

const OPS = POLICY_CHANGES.map((c) => String((c.properties.op as { const: string }).const));

beforeAll(async () => {
  sim = await Simulator.start();
  const config = validateConfig({
    instance: { id: 'openapi-test' },
    servers: [
      {
        name: 'pbx1',
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 },
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 10_000, timeWindowMs: 1000 } },
    directory: {
      users: [
        {
          id: 'olivia',
          name: 'Olivia',
          role: 'administrator',
          scope: 'office_manager',
          flags: { hold: true, hangup: true, endForAll: true, transfer: true, requeue: true },
        },
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          extensions: ['1001'],
          addresses: ['PJSIP/2001', { endpoint: 'PJSIP/2002', delayMs: 500 }],
          flags: { inbound: true },
        },
      ],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: [{ id: 'support' }],
      grants: [
        {
          id: 'admin-queues',
          subject: 'user:olivia',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['user:alice', 'queue:support'],
        },
      ],
    },
  });
  daemon = await startDaemon(config, { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
  olivia = await daemon.tokens.issue('olivia', 't');
  const r = await fetch(`${daemon.httpUrl}/docs/json`);
  expect(r.status).toBe(200);
  raw = await r.text();
  doc = JSON.parse(raw) as OpenApiDoc;
});
afterAll(async () => {
  await daemon?.stop();
  await sim?.stop();
});

const operations = (): Array<{ path: string; method: string; op: Operation }> =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

describe('OpenAPI document (/docs/json)', () => {
  it('Redocly lint (recommended rules) finds no error and no warning', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: raw, absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`)).toEqual([]);
  });

  it('every operation has a unique operationId and a 2xx response with a JSON schema', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(14);
    for (const { path, method, op } of ops) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      expect(ok.length, `${method} ${path} 2xx`).toBe(1);
      expect(ok[0]![1].content?.['application/json']?.schema, `${method} ${path} 2xx schema`).toBeDefined();
    }
    expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
    for (const action of ['login', 'logout', 'pause', 'unpause', 'penalty'])
      expect(doc.paths[`/v1/queue/${action}`]?.post?.responses['200']).toBeDefined();
  });

  it('servers: the address this daemon listens on (the bound port)', () => {
    expect(doc.servers?.map((s) => s.url)).toEqual([daemon.httpUrl]);
  });

  it('every policy-change op is a named schema the discriminator maps, and docs/api.md documents it', () => {
    const change = (
      doc.paths['/v1/policy/changes']!.post as unknown as {
        requestBody: {
          content: Record<string, { schema: { properties: { change: { discriminator: { mapping: Record<string, string> } } } } }>;
        };
      }
    ).requestBody.content['application/json']!.schema.properties.change;
    expect(Object.keys(change.discriminator.mapping).sort()).toEqual([...OPS].sort());
    for (const [op, ref] of Object.entries(change.discriminator.mapping)) {
      const name = ref.replace('#/components/schemas/', '');
      expect((doc.components.schemas[name] as { properties: { op: { enum: string[] } } }).properties.op.enum).toEqual([op]);
    }
    const api = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const op of OPS) expect(api, op).toMatch(new RegExp(`^### \`${op}\`$`, 'm'));
    // Each example there is a body the documented schema accepts, one per op.
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const validate = ajv.compile({ $ref: 'openapi.json#/paths/~1v1~1policy~1changes/post/requestBody/content/application~1json/schema' });
    const examples = [...api.matchAll(/^ {4}(\{ "expectedVersion".*)$/gm)].map((m) => JSON.parse(m[1]!) as { change: { op: string } });
    expect(examples.map((e) => e.change.op)).toEqual(OPS);
    for (const e of examples) expect(validate(e) ? [] : validate.errors, e.change.op).toEqual([]);
  });

  it('real answers of every operation match the documented success schema', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const call = async (method: string, path: string, body?: unknown, auth = true): Promise<unknown> => {
      const r = await fetch(`${daemon.httpUrl}${path}`, {
        method,
        headers: {
          ...(auth ? { authorization: `Bearer ${olivia}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(r.status, `${method} ${path}: ${await r.clone().text()}`).toBe(200);
      return r.json();
    };
    const check = (method: string, route: string, answer: unknown): void => {
      const pointer = `openapi.json#/paths/${route.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/200/content/application~1json/schema`;
      const validate = ajv.compile({ $ref: pointer });
      expect(validate(answer) ? [] : validate.errors, `${method} ${route}`).toEqual([]);
    };
    const seen = new Set<string>();
    const run = async (method: string, route: string, path: string, body?: unknown, auth = true): Promise<unknown> => {
      const answer = await call(method.toUpperCase(), path, body, auth);
      check(method, route, answer);
      seen.add(`${method} ${route}`);
      return answer;
    };
    await run('post', '/v1/queue/login', '/v1/queue/login', { extension: '1001', queue: 'support', paused: true, reason: 'lunch' });
    await run('post', '/v1/queue/unpause', '/v1/queue/unpause', { extension: '1001', queue: 'support' });
    await run('post', '/v1/queue/pause', '/v1/queue/pause', { extension: '1001', reason: 'break' });
    await run('post', '/v1/queue/penalty', '/v1/queue/penalty', { extension: '1001', queue: 'support', penalty: 2 });
    await run('get', '/v1/queue/members', '/v1/queue/members?queue=support');
    await run('post', '/v1/queue/logout', '/v1/queue/logout', { extension: '1001', queue: 'support' });
    await run('get', '/v1/me/capabilities', '/v1/me/capabilities');
    await run('get', '/v1/explain', '/v1/explain?user=alice&action=pause&extension=1001');
    await run('get', '/v1/audit', '/v1/audit?limit=20');
    const policy = (await run('get', '/v1/policy', '/v1/policy')) as { version: number };
    await run('post', '/v1/policy/changes', '/v1/policy/changes', {
      expectedVersion: policy.version,
      change: { op: 'put-queue', queue: { id: 'sales' } },
    });
    const token = (await run('post', '/v1/tokens', '/v1/tokens', { label: 'generator test' })) as { tokenHash: string };
    await run('delete', '/v1/tokens/{hash}', `/v1/tokens/${token.tokenHash}`);
    await run('get', '/v1/errors', '/v1/errors', undefined, false);
    // Call control: a customer for alice (from queue support), answered by PJSIP/2001.
    sim.setEndpoint('PJSIP/2001', { kind: 'answer', afterMs: 20 });
    const talking = async (): Promise<string> => {
      await sim.dialIn({ args: ['dispatch', 'alice', '10', 'support'] });
      let found = '';
      await until(
        async () => {
          const list = (await call('GET', '/v1/calls')) as { calls: Array<{ id: string; state: string }> };
          found = list.calls.find((x) => x.state === 'talking')?.id ?? '';
          return found !== '';
        },
        5000,
        'a call talking',
      );
      return found;
    };
    let id = await talking();
    await run('get', '/v1/calls', '/v1/calls');
    await run('post', '/v1/calls/{callId}/hold', `/v1/calls/${id}/hold`);
    await run('post', '/v1/calls/{callId}/unhold', `/v1/calls/${id}/unhold`);
    await run('post', '/v1/calls/{callId}/hangup', `/v1/calls/${id}/hangup`);
    id = await talking();
    await run('post', '/v1/calls/{callId}/end', `/v1/calls/${id}/end`);
    id = await talking();
    await run('post', '/v1/calls/{callId}/transfer', `/v1/calls/${id}/transfer`, { to: '1234' });
    id = await talking();
    await run('post', '/v1/calls/{callId}/requeue', `/v1/calls/${id}/requeue`, {});
    expect([...seen].sort()).toEqual(
      operations()
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    );
  });
});

describe('OpenAPI servers', () => {
  it('the configured host with the bound port; a wildcard bind says localhost and why; IPv6 in brackets', () => {
    expect(openApiServers('10.0.0.5', { address: '10.0.0.5', family: 'IPv4', port: 8080 }, 8080).map((s) => s.url)).toEqual([
      'http://10.0.0.5:8080',
    ]);
    expect(openApiServers('127.0.0.1', { address: '127.0.0.1', family: 'IPv4', port: 40123 }, 0).map((s) => s.url)).toEqual([
      'http://127.0.0.1:40123',
    ]);
    const wild = openApiServers('0.0.0.0', null, 8080);
    expect(wild.map((s) => s.url)).toEqual(['http://localhost:8080']);
    expect(wild[0]!.description).toMatch(/host name clients know/);
    expect(openApiServers('::1', { address: '::1', family: 'IPv6', port: 9000 }, 9000).map((s) => s.url)).toEqual(['http://[::1]:9000']);
  });
});
