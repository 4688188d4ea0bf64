/**
 * One error path (#13): whatever fails — schema, use case, authentication, the rate limiter, fastify
 * itself, an unknown route, a bug — the client gets the same shape, `{ code, message, field?,
 * decision? }`, with a documented code and that code's status. The HTTP server runs on fake
 * services (no PBX, no sockets).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildHttpServer } from '../../src/adapters/http/server.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus.js';
import { createPolicyHolder } from '../../src/app/policy-holder.js';
import { createTokenService } from '../../src/app/tokens.js';
import type { QueueService } from '../../src/app/queue-service.js';
import { validateConfig } from '../../src/config/load.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors/codes.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/log.js';

let app: FastifyInstance;
let alice: string;

const queue: QueueService = {
  execute: () => Promise.reject(new TypeError('a bug in a use case')),
  members: () => [],
  connections: () => [],
  featureHandler: async () => ({ result: 'FAILED' }),
  stop: async () => undefined,
};

beforeAll(async () => {
  const config = validateConfig({
    servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: 5038, username: 'u', secret: 's' } }],
    http: { enabled: true, host: '127.0.0.1', port: 0, bodyLimit: 256, rateLimit: { max: 8, timeWindowMs: 60_000 } },
    directory: {
      users: [{ id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', extensions: ['1001'] }],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: [{ id: 'support' }],
      grants: [{ id: 'own', subject: 'user:alice', actions: ['pause', 'unpause'], targets: ['user:alice'] }],
    },
  });
  const clock = systemClock();
  const store = createMemoryStore({ clock });
  const tokens = createTokenService({ store, clock });
  alice = await tokens.issue('alice', 't');
  const policy = createPolicyHolder(config.directory);
  app = await buildHttpServer({
    config,
    queue,
    calls: {
      list: () => [],
      act: async () => Promise.reject(new Error('no calls here')),
      phoneHold: async () => false,
      directTransfer: async () => ({ ok: false, reason: 'not-found', detail: 'no calls here' }),
      stop: () => undefined,
    },
    policy,
    store,
    tokens,
    clock,
    logger: silentLogger(),
    health: async () => ({ ok: true, failing: [], components: {} }),
    metrics: createPrometheusMetrics(),
  });
});
afterAll(async () => {
  await app.close();
});

/** The body has the one shape, its code is documented and the status is that code's. */
function expectErrorShape(r: LightMyRequestResponse, code: ErrorCode): Record<string, unknown> {
  const body = r.json<Record<string, unknown>>();
  expect(
    Object.keys(body).every((k) => ['code', 'message', 'field', 'decision'].includes(k)),
    JSON.stringify(body),
  ).toBe(true);
  expect(body).toMatchObject({ code, message: expect.any(String) as unknown });
  expect(r.statusCode).toBe(ERROR_CODES[code].status);
  return body;
}

describe('one error path', () => {
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${alice}` });

  it.each<[string, () => Promise<LightMyRequestResponse>, ErrorCode, string | undefined]>([
    ['no token', () => app.inject({ method: 'GET', url: '/v1/me/capabilities' }), 'AGENTGATE_ERR_UNAUTHENTICATED', undefined],
    [
      'a schema error',
      () => app.inject({ method: 'POST', url: '/v1/queue/pause', headers: auth(), payload: { extension: 1001 } }),
      'AGENTGATE_ERR_VALIDATION',
      'body.extension',
    ],
    [
      'a control character',
      () => app.inject({ method: 'POST', url: '/v1/queue/pause', headers: auth(), payload: { extension: '1001', reason: 'a\r\nb' } }),
      'AGENTGATE_ERR_CRLF',
      'body.reason',
    ],
    [
      'a body too large',
      () =>
        app.inject({ method: 'POST', url: '/v1/queue/pause', headers: auth(), payload: { extension: '1001', reason: 'x'.repeat(400) } }),
      'AGENTGATE_ERR_BODY_TOO_LARGE',
      undefined,
    ],
    [
      'text/plain',
      () => app.inject({ method: 'POST', url: '/v1/queue/pause', headers: { ...auth(), 'content-type': 'text/plain' }, payload: 'hello' }),
      'AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE',
      'headers.content-type',
    ],
    [
      'bad JSON',
      () =>
        app.inject({
          method: 'POST',
          url: '/v1/queue/pause',
          headers: { ...auth(), 'content-type': 'application/json' },
          payload: '{"extension":',
        }),
      'AGENTGATE_ERR_VALIDATION',
      'body',
    ],
    ['an unknown route', () => app.inject({ method: 'GET', url: '/v1/nope?x=1' }), 'AGENTGATE_ERR_NOT_FOUND', undefined],
    [
      "a path parameter longer than fastify's router takes (refused before any route)",
      () => app.inject({ method: 'POST', url: `/v1/calls/${'a'.repeat(300)}/hold`, headers: auth() }),
      'AGENTGATE_ERR_VALIDATION',
      'params',
    ],
    [
      'a use case refusal',
      () => app.inject({ method: 'GET', url: '/v1/explain?user=bob&action=pause&extension=1001', headers: auth() }),
      'AGENTGATE_ERR_FORBIDDEN',
      'query.user',
    ],
    [
      'a bug',
      () => app.inject({ method: 'POST', url: '/v1/queue/pause', headers: auth(), payload: { extension: '1001' } }),
      'AGENTGATE_ERR_INTERNAL',
      undefined,
    ],
  ])('%s', async (_name, send, code, field) => {
    const body = expectErrorShape(await send(), code);
    expect(body.field).toBe(field);
  });

  it('the rate limiter answers in the same shape (no statusCode of its own), with Retry-After', async () => {
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 12 && last?.statusCode !== 429; i++) last = await app.inject({ method: 'GET', url: '/v1/errors' });
    expect(last?.statusCode).toBe(429);
    const body = expectErrorShape(last!, 'AGENTGATE_ERR_RATE_LIMITED');
    expect(body.message).toMatch(/^Too many requests; retry in /);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
  });
});
