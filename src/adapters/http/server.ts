/**
 * The HTTP API (fastify, under /v1). Routes only parse and call use cases. Schemas are declared on
 * the routes (TypeBox), so validation errors name the field and @fastify/swagger serves the OpenAPI
 * document at /docs (UI) and /docs/json. Errors are `{ code, message, field? }` with the stable codes
 * of src/errors/codes.ts (docs/errors.md). Rate limit per token (@fastify/rate-limit).
 *
 * Authentication: `Authorization: Bearer <token>`; the token maps to a user; the request's source
 * address (X-Forwarded-For only from http.trustedProxies) must be in that user's IP allow-list.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Config } from '../../config/load.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { PolicyHolder } from '../../app/policy-holder.js';
import type { QueueService } from '../../app/queue-service.js';
import { sha256, type TokenService } from '../../app/tokens.js';
import { AgentgateError, ERROR_CODES } from '../../errors/codes.js';
import { capabilities, changePolicy, checkIp, decide, explain, plainDecision, userById, QUEUE_ACTIONS, type PolicyChange, type QueueAction } from '../../domain/policy/index.js';

export interface HttpDeps {
  config: Config;
  queue: QueueService;
  policy: PolicyHolder;
  store: Store;
  tokens: TokenService;
  clock: Clock;
  logger: Logger;
  health: () => { ok: boolean; components: Record<string, unknown> };
}

const ErrorBody = Type.Object(
  { code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()), decision: Type.Optional(Type.Unknown({ description: 'the policy decision with every check, on a 403' })) },
  { $id: 'Error' },
);
const NoCrLf = { pattern: '^[^\\r\\n]*$' };
const QueueBody = Type.Object(
  {
    extension: Type.String({ minLength: 1, maxLength: 64, ...NoCrLf }),
    queue: Type.Optional(Type.String({ minLength: 1, maxLength: 128, ...NoCrLf })),
    reason: Type.Optional(Type.String({ maxLength: 128, ...NoCrLf })),
    penalty: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    paused: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
type QueueBodyT = Static<typeof QueueBody>;

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; tokenHash: string };
  }
}

const httpRequests = new client.Counter({ name: 'agentgate_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'] });

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const trusted = config.http.trustedProxies;
  const app = Fastify({
    logger: false,
    bodyLimit: config.http.bodyLimit,
    trustProxy: trusted.length > 0 ? trusted : false,
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: false } },
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'agentgate', version: '0.1.0', description: 'Ring-all dispatch and policy-gated queue agent operations beside Asterisk' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    max: config.http.rateLimit.max,
    timeWindow: config.http.rateLimit.timeWindowMs,
    keyGenerator: (req) => {
      const h = req.headers.authorization;
      return h?.startsWith('Bearer ') ? sha256(h.slice(7)) : req.ip;
    },
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, code: 'AGENTGATE_ERR_RATE_LIMITED', message: `Too many requests; retry in ${ctx.after}` }),
  });

  app.addSchema(ErrorBody);

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof AgentgateError) {
      const body = err.toJSON() as Record<string, unknown>;
      const decision = (err.details as { decision?: unknown }).decision;
      if (decision) body.decision = decision;
      return reply.status(err.status).send(body);
    }
    const e = err as { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }>; validationContext?: string; statusCode?: number; code?: string; message?: string };
    if (e.validation && e.validation.length > 0) {
      const v = e.validation[0]!;
      let path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      if (v.keyword === 'required') path = [path, String(v.params?.missingProperty ?? '')].filter(Boolean).join('.');
      if (v.keyword === 'additionalProperties') path = [path, String(v.params?.additionalProperty ?? '')].filter(Boolean).join('.');
      const field = `${e.validationContext ?? 'body'}${path ? `.${path}` : ''}`;
      if (v.keyword === 'pattern' && v.params?.pattern === NoCrLf.pattern) {
        return reply.status(400).send({ code: 'AGENTGATE_ERR_CRLF', message: `${field} must not contain CR or LF`, field });
      }
      return reply.status(400).send({ code: 'AGENTGATE_ERR_VALIDATION', message: `Invalid value for ${field}: ${v.message ?? 'invalid'}`, field });
    }
    if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ code: 'AGENTGATE_ERR_BODY_TOO_LARGE', message: `Request body is larger than ${config.http.bodyLimit} bytes` });
    }
    if (e.statusCode === 429) return reply.status(429).send({ code: 'AGENTGATE_ERR_RATE_LIMITED', message: e.message ?? 'Too many requests' });
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: 'AGENTGATE_ERR_VALIDATION', message: e.message ?? 'Bad request', field: 'body' });
    }
    deps.logger.error({ err, url: req.url }, 'unhandled HTTP error');
    return reply.status(500).send({ code: 'AGENTGATE_ERR_INTERNAL', message: 'Internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'AGENTGATE_ERR_NOT_FOUND', message: `${req.method} ${req.url.split('?')[0]} not found` }));
  app.addHook('onResponse', async (req, reply) => {
    httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  /** Bearer token → user; source address in the user's allow-list. */
  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
    const rec = await deps.tokens.verify(h.slice(7).trim());
    if (!rec) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
    const user = userById(deps.policy.current(), rec.userId);
    if (!user) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
    if (user.scope === 'no_portal') throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: `${user.id} has scope no_portal` });
    if (!checkIp(user.flags.ipAllow, req.ip)) throw new AgentgateError('AGENTGATE_ERR_IP_NOT_ALLOWED', { ip: req.ip, user: user.id });
    req.user = { id: user.id, tokenHash: rec.tokenHash };
  };
  const auth = { preHandler: authenticate };
  const errors = { 400: { $ref: 'Error#' }, 401: { $ref: 'Error#' }, 403: { $ref: 'Error#' }, 404: { $ref: 'Error#' } };

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const h = deps.health();
    return reply.status(h.ok ? 200 : 503).send(h);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type('text/plain').send(await client.register.metrics()));

  for (const action of QUEUE_ACTIONS) {
    app.post<{ Body: QueueBodyT }>(
      `/v1/queue/${action}`,
      { ...auth, schema: { summary: `Queue ${action} (policy-gated, then AMI)`, body: QueueBody, response: errors } },
      async (req) => {
        const b = req.body;
        const r = await deps.queue.execute({ actor: req.user!.id, action, extension: b.extension, queue: b.queue, reason: b.reason, penalty: b.penalty, paused: b.paused, source: 'http', ip: req.ip });
        return { ok: true, action: r.action, extension: r.extension, queue: r.queue, interface: r.interface, server: r.server, ami: r.ami, decision: r.decision, auditId: r.auditId };
      },
    );
  }

  app.get<{ Querystring: { queue?: string; extension?: string } }>(
    '/v1/queue/members',
    { ...auth, schema: { summary: 'Live queue members (from AMI events and QueueStatus)', querystring: Type.Object({ queue: Type.Optional(Type.String()), extension: Type.Optional(Type.String()) }, { additionalProperties: false }) } },
    async (req) => ({ members: deps.queue.members({ queue: req.query.queue, extension: req.query.extension }) }),
  );

  app.get('/v1/me/capabilities', { ...auth, schema: { summary: 'What the caller may do: which UI buttons to show' } }, async (req) => capabilities(deps.policy.current(), req.user!.id, req.ip));

  const ExplainQuery = Type.Object(
    {
      user: Type.Optional(Type.String({ minLength: 1 })),
      action: Type.Union(QUEUE_ACTIONS.map((a) => Type.Literal(a))),
      extension: Type.String({ minLength: 1 }),
      queue: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  );
  app.get<{ Querystring: Static<typeof ExplainQuery> }>('/v1/explain', { ...auth, schema: { summary: 'May <user> do <action> on <extension> [queue], and why', querystring: ExplainQuery } }, async (req) => {
    const q = req.query;
    const target = q.user ?? req.user!.id;
    const self = userById(deps.policy.current(), req.user!.id)!;
    if (target !== req.user!.id && self.role !== 'administrator' && self.role !== 'owner' && self.role !== 'manager') {
      throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: 'only managers and above explain decisions for other users' });
    }
    const request = { actor: target, action: q.action as QueueAction, extension: q.extension, queue: q.queue, source: 'http' as const, ip: req.ip };
    const d = decide(deps.policy.current(), request);
    return { ...plainDecision(d), text: explain(d, request) };
  });

  const AuditQuery = Type.Object(
    {
      kind: Type.Optional(Type.Union([Type.Literal('dispatch'), Type.Literal('queue-op'), Type.Literal('policy-change'), Type.Literal('token')])),
      actor: Type.Optional(Type.String()),
      action: Type.Optional(Type.String()),
      extension: Type.Optional(Type.String()),
      queue: Type.Optional(Type.String()),
      result: Type.Optional(Type.String()),
      since: Type.Optional(Type.Integer({ minimum: 0 })),
      until: Type.Optional(Type.Integer({ minimum: 0 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    },
    { additionalProperties: false },
  );
  app.get<{ Querystring: Static<typeof AuditQuery> }>('/v1/audit', { ...auth, schema: { summary: 'Audit records, newest first', querystring: AuditQuery } }, async (req) => {
    const self = userById(deps.policy.current(), req.user!.id)!;
    const filter = { ...req.query };
    // Agents see their own records; supervisors and above see everyone's.
    if (self.role === 'agent') filter.actor = self.id;
    return { entries: await deps.store.queryAudit(filter) };
  });

  app.get('/v1/policy', { ...auth, schema: { summary: 'The policy in force and its version' } }, async () => {
    const p = deps.policy.current();
    return { version: p.version, doc: p.doc };
  });

  const ChangeBody = Type.Object({ expectedVersion: Type.Integer({ minimum: 0 }), change: Type.Object({ op: Type.String() }, { additionalProperties: true }) }, { additionalProperties: false });
  app.post<{ Body: Static<typeof ChangeBody> }>(
    '/v1/policy/changes',
    { ...auth, schema: { summary: 'Change users, groups, extensions, queues or grants (administration rules apply; versioned)', body: ChangeBody } },
    async (req, reply) => {
      const current = deps.policy.current();
      if (req.body.expectedVersion !== current.version) throw new AgentgateError('AGENTGATE_ERR_POLICY_VERSION', { expected: req.body.expectedVersion, actual: current.version });
      const change = req.body.change as unknown as PolicyChange;
      const r = changePolicy(current, req.user!.id, change);
      if (!r.ok && r.errors.length > 0) {
        const e = r.errors[0]!;
        throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: `body.change.${e.path}`, detail: e.message }, { field: `body.change.${e.path}` });
      }
      if (!r.ok) {
        const failed = r.decision.reasons.filter((x) => !x.passed).map((x) => `${x.name}: ${x.detail}`);
        throw new AgentgateError('AGENTGATE_ERR_POLICY_ADMIN', { detail: failed.join('; '), decision: plainDecision(r.decision) });
      }
      const put = await deps.store.putPolicy(current.version, r.policy.doc);
      if (!put.ok) throw new AgentgateError('AGENTGATE_ERR_POLICY_VERSION', { expected: current.version, actual: put.version });
      deps.policy.replace(r.policy.doc, put.version);
      await deps.store.appendAudit({ kind: 'policy-change', at: deps.clock.now(), actor: req.user!.id, action: change.op, result: 'ok', detail: { change, version: put.version, decision: plainDecision(r.decision) } });
      return reply.status(200).send({ ok: true, version: put.version });
    },
  );

  const TokenBody = Type.Object({ user: Type.Optional(Type.String({ minLength: 1 })), label: Type.String({ minLength: 1, maxLength: 64, ...NoCrLf }) }, { additionalProperties: false });
  app.post<{ Body: Static<typeof TokenBody> }>('/v1/tokens', { ...auth, schema: { summary: 'Issue an API token (for yourself; administrators for anyone)', body: TokenBody } }, async (req) => {
    const self = userById(deps.policy.current(), req.user!.id)!;
    const target = req.body.user ?? self.id;
    if (target !== self.id && self.role !== 'administrator' && self.role !== 'owner') throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: 'only administrators issue tokens for others' });
    if (!userById(deps.policy.current(), target)) throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_USER', { id: target }, { field: 'body.user' });
    const token = await deps.tokens.issue(target, req.body.label);
    await deps.store.appendAudit({ kind: 'token', at: deps.clock.now(), actor: self.id, action: 'issue', result: 'ok', detail: { user: target, label: req.body.label } });
    return { token, user: target, tokenHash: sha256(token) };
  });
  app.delete<{ Params: { hash: string } }>('/v1/tokens/:hash', { ...auth, schema: { summary: 'Revoke a token by its sha-256', params: Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }) } }, async (req) => {
    const self = userById(deps.policy.current(), req.user!.id)!;
    const mine = (await deps.store.listTokens(self.id)).some((t) => t.tokenHash === req.params.hash);
    if (!mine && self.role !== 'administrator' && self.role !== 'owner') throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: 'not your token' });
    const ok = await deps.tokens.revoke(req.params.hash);
    if (!ok) throw new AgentgateError('AGENTGATE_ERR_NOT_FOUND', { what: 'Token' });
    return { ok: true };
  });

  // Every code the API can answer with is documented (docs/errors.md); expose the list too.
  app.get('/v1/errors', { schema: { summary: 'Every error code with its HTTP status' } }, async () => Object.entries(ERROR_CODES).map(([code, e]) => ({ code, status: e.status })));

  await app.ready();
  return app;
}
