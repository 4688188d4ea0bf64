/**
 * The HTTP API (fastify, under /v1). Routes only parse and call use cases. Schemas are declared on
 * the routes (TypeBox, src/adapters/http/schemas.ts), so validation errors name the field and
 * @fastify/swagger serves the OpenAPI document at /docs (UI) and /docs/json. Errors are
 * `{ code, message, field? }` with the stable codes of src/errors/codes.ts (docs/errors.md); `field`
 * always says where the bad input was: `body.<path>`, `query.<name>` or `params.<name>`.
 *
 * Request order on an authenticated route: authenticate (onRequest, before the body is even read,
 * so an unauthenticated caller learns nothing about the schemas) → rate limit keyed on the
 * authenticated token → parse → validate → handler. Failed authentications are limited per source
 * address (http.authFailures), so guessing tokens is slow whatever each guess looks like.
 *
 * Authentication: `Authorization: Bearer <token>`; the token maps to a user; the request's source
 * address (X-Forwarded-For only from http.trustedProxies) must be in that user's IP allow-list.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { PolicyHolder } from '../../app/policy-holder.js';
import type { QueueService } from '../../app/queue-service.js';
import type { TokenService } from '../../app/tokens.js';
import { createTokenAdmin } from '../../app/token-admin.js';
import { applyPolicyChange } from '../../app/policy-admin.js';
import { policyView } from '../../app/policy-view.js';
import { AgentgateError, ERROR_CODES } from '../../errors/codes.js';
import { capabilities, checkIp, decide, explain, plainDecision, roleRank, userById, QUEUE_ACTIONS } from '../../domain/policy/index.js';
import { createAuthFailureLimiter } from './auth-failures.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import {
  AuditQuery,
  AuditResult,
  CapabilitiesResult,
  ChangeBody,
  ChangeResult,
  ErrorCodesResult,
  ExplainQuery,
  ExplainResult,
  MembersQuery,
  MembersResult,
  NO_CONTROL,
  OkResult,
  PolicyResult,
  QUEUE_BODIES,
  SHARED_SCHEMAS,
  TokenBody,
  TokenParams,
  TokenResult,
  type ChangeBodyT,
  type QueueBodyT,
} from './schemas.js';
import { openApiServers, withDiscriminatorMappings } from './openapi.js';

/** What /readyz answers: ok only when every component is; `failing` says which and why. */
export interface Readiness {
  ok: boolean;
  failing: Array<{ component: string; reason: string }>;
  components: Record<string, unknown>;
}

export interface HttpDeps {
  config: Config;
  queue: QueueService;
  policy: PolicyHolder;
  store: Store;
  tokens: TokenService;
  clock: Clock;
  logger: Logger;
  health: () => Promise<Readiness>;
  /** The daemon's metrics registry: served at /metrics, HTTP requests counted in it. */
  metrics: PrometheusMetrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: { id: string; tokenHash: string };
  }
}

/** fastify's validation contexts → the prefix of `field`. */
const LOCATION: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/**
 * A use case names fields as the request did (`penalty`, `change.user.role`, `hash`); say where that
 * was: the path parameter, the query string or (by default) the body.
 */
function locateField(req: FastifyRequest, field: string): string {
  if (/^(body|query|params|headers)(\.|$)/.test(field)) return field;
  const top = field.split(/[.[]/)[0] ?? field;
  const has = (o: unknown): boolean => o !== null && typeof o === 'object' && Object.hasOwn(o, top);
  if (has(req.params)) return `params.${field}`;
  if (has(req.query) && !has(req.body)) return `query.${field}`;
  return `body.${field}`;
}

/**
 * Query strings are text: turn `limit=5` into 5 where the route's schema wants an integer, number
 * or boolean, before validation. Only the query string: bodies are JSON and keep their types (a
 * body `"penalty": "5"` stays a 400). A value that is not a plain number stays text and fails
 * validation naming the parameter; a repeated parameter (an array) is never coerced.
 */
function coerceQuery(req: FastifyRequest): void {
  const props = (req.routeOptions.schema?.querystring as { properties?: Record<string, { type?: string }> } | undefined)?.properties;
  const q = req.query as Record<string, unknown> | undefined;
  if (!props || !q) return;
  for (const [k, v] of Object.entries(q)) {
    if (typeof v !== 'string') continue;
    const t = props[k]?.type;
    if ((t === 'integer' || t === 'number') && /^-?\d{1,15}(\.\d+)?$/.test(v)) q[k] = Number(v);
    else if (t === 'boolean' && (v === 'true' || v === 'false')) q[k] = v === 'true';
  }
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const trusted = config.http.trustedProxies;
  const app = Fastify({
    logger: false,
    bodyLimit: config.http.bodyLimit,
    trustProxy: trusted.length > 0 ? trusted : false,
    // No coercion (bodies keep their JSON types; query strings: coerceQuery); discriminator: the
    // policy-change union reports the field of the branch its `op` selects.
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: true, discriminator: true } },
  });
  const log = deps.logger.child({ component: 'http' });
  const tokenAdmin = createTokenAdmin({ tokens: deps.tokens, policy: deps.policy, store: deps.store, clock: deps.clock, logger: deps.logger });
  const authFailures = createAuthFailureLimiter({ max: config.http.authFailures.max, windowMs: config.http.authFailures.timeWindowMs, now: () => deps.clock.now() });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'agentgate',
        version: '0.1.0',
        description: 'Ring-all dispatch and policy-gated queue agent operations beside Asterisk. Errors are `{ code, message, field? }` with the codes of docs/errors.md (GET /v1/errors).',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      tags: [
        { name: 'queue', description: 'Queue agent operations (policy-gated, then AMI) and live members' },
        { name: 'policy', description: 'The policy: decisions, capabilities, the document and its changes' },
        { name: 'audit', description: 'Audit records' },
        { name: 'tokens', description: 'API tokens' },
        { name: 'meta', description: 'About the API itself' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Components named by their $id (User, PolicyChangePutUser, …), not def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // Filled in when the document is first asked for (after listen): the port actually bound.
    transformObject: (doc) => ('openapiObject' in doc ? withDiscriminatorMappings({ ...doc.openapiObject, servers: openApiServers(config.http.host, app.server.address(), config.http.port) }) : doc.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    max: config.http.rateLimit.max,
    timeWindow: config.http.rateLimit.timeWindowMs,
    // Runs after the route's own onRequest (authentication): an authenticated request counts against
    // its token however the header was spelt; anything else against its source address.
    keyGenerator: (req) => (req.user ? `token:${req.user.tokenHash}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, code: 'AGENTGATE_ERR_RATE_LIMITED', message: `Too many requests; retry in ${ctx.after}` }),
  });

  // JSON only: a text/plain body would otherwise reach the schemas as a string.
  app.removeContentTypeParser('text/plain');
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Response schemas document the API (OpenAPI) and are checked against real answers by the tests;
  // they do not filter what is sent (fast-json-stringify would silently drop a field they miss).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('preValidation', async (req) => coerceQuery(req));

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof AgentgateError) {
      const body: Record<string, unknown> = { code: err.code, message: err.message };
      if (err.field !== undefined) body.field = locateField(req, err.field);
      const decision = (err.details as { decision?: unknown }).decision;
      if (decision) body.decision = decision;
      const retryAfterSec = (err.details as { retryAfterSec?: unknown }).retryAfterSec;
      if (typeof retryAfterSec === 'number') return reply.status(err.status).header('retry-after', String(retryAfterSec)).send(body);
      return reply.status(err.status).send(body);
    }
    const e = err as { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }>; validationContext?: string; statusCode?: number; code?: string; message?: string };
    if (e.validation && e.validation.length > 0) {
      const v = e.validation[0]!;
      let path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      if (v.keyword === 'required') path = [path, String(v.params?.missingProperty ?? '')].filter(Boolean).join('.');
      if (v.keyword === 'additionalProperties') path = [path, String(v.params?.additionalProperty ?? '')].filter(Boolean).join('.');
      if (v.keyword === 'discriminator') path = [path, String(v.params?.tag ?? 'op')].filter(Boolean).join('.');
      const where = LOCATION[e.validationContext ?? 'body'] ?? 'body';
      const field = `${where}${path ? `.${path}` : ''}`;
      if (v.keyword === 'pattern' && v.params?.pattern === NO_CONTROL) {
        return reply.status(400).send({ code: 'AGENTGATE_ERR_CRLF', message: new AgentgateError('AGENTGATE_ERR_CRLF', { field }).message, field });
      }
      const detail = v.keyword === 'additionalProperties' ? 'not accepted here' : (v.message ?? 'invalid');
      return reply.status(400).send({ code: 'AGENTGATE_ERR_VALIDATION', message: `Invalid value for ${field}: ${detail}`, field });
    }
    if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ code: 'AGENTGATE_ERR_BODY_TOO_LARGE', message: `Request body is larger than ${config.http.bodyLimit} bytes` });
    }
    if (e.statusCode === 415 || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const contentType = String(req.headers['content-type'] ?? '(none)').slice(0, 100);
      return reply.status(415).send({ code: 'AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE', message: new AgentgateError('AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE', { contentType: JSON.stringify(contentType) }).message, field: 'headers.content-type' });
    }
    if (e.statusCode === 429) return reply.status(429).send({ code: 'AGENTGATE_ERR_RATE_LIMITED', message: e.message ?? 'Too many requests' });
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: 'AGENTGATE_ERR_VALIDATION', message: e.message ?? 'Bad request', field: 'body' });
    }
    log.error({ err, url: req.url }, 'unhandled HTTP error');
    return reply.status(500).send({ code: 'AGENTGATE_ERR_INTERNAL', message: 'Internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'AGENTGATE_ERR_NOT_FOUND', message: `${req.method} ${req.url.split('?')[0]} not found` }));
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequest({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode });
  });

  /**
   * Bearer token → user; source address in the user's allow-list. An address with too many failed
   * authentications gets 429 without its token being looked at (else a guess could still tell a
   * valid token from an invalid one).
   */
  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const wait = authFailures.blockedFor(req.ip);
    if (wait > 0) {
      const secs = Math.ceil(wait / 1000);
      throw new AgentgateError('AGENTGATE_ERR_RATE_LIMITED', { retryAfter: `${secs} s (too many failed authentications from ${req.ip})`, retryAfterSec: secs });
    }
    const h = req.headers.authorization;
    const m = h === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
    const rec = m ? await deps.tokens.verify(m[1]!) : null;
    const user = rec ? userById(deps.policy.current(), rec.userId) : undefined;
    if (!rec || !user) {
      authFailures.failed(req.ip);
      throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
    }
    if (user.scope === 'no_portal') throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: `${user.id} has scope no_portal` });
    if (!checkIp(user.flags.ipAllow, req.ip)) throw new AgentgateError('AGENTGATE_ERR_IP_NOT_ALLOWED', { ip: req.ip, user: user.id });
    req.user = { id: user.id, tokenHash: rec.tokenHash };
  };
  const auth = { onRequest: authenticate };
  /** Error answers as OpenAPI documents them: `{ code, message, field? }`, one description per status. */
  const ERROR_TEXT: Record<number, string> = {
    400: 'Invalid input: `field` names it',
    401: 'Missing or unknown API token',
    403: 'Denied: by the policy (with the decision), the portal scope or the IP allow-list',
    404: 'Unknown extension, queue, user, group or token',
    409: 'Conflict: the policy changed meanwhile, or the state does not allow it',
    413: 'Request body too large',
    415: 'Not application/json',
    429: 'Too many requests or failed authentications (see Retry-After)',
    502: 'Asterisk refused or failed the action (AMI)',
    503: 'AMI or the Store is not available: nothing was sent',
    504: 'Asterisk did not answer in time: the action may have run',
  };
  const errorsOf = (...statuses: number[]): Record<number, unknown> => Object.fromEntries(statuses.map((st) => [st, { description: ERROR_TEXT[st], $ref: 'Error#' }]));
  const ok = (description: string, schema: object): Record<number, unknown> => ({ 200: { description, ...schema } });
  const errors = errorsOf(400, 401, 403, 404, 429);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const h = await deps.health();
    return reply.status(h.ok ? 200 : 503).send(h);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const m = await deps.metrics.render();
    return reply.type(m.contentType).send(m.body);
  });

  for (const action of QUEUE_ACTIONS) {
    app.post<{ Body: QueueBodyT }>(
      `/v1/queue/${action}`,
      {
        ...auth,
        schema: {
          operationId: `queue${action[0]!.toUpperCase()}${action.slice(1)}`,
          tags: ['queue'],
          summary: `Queue ${action} (policy-gated, then AMI)`,
          body: QUEUE_BODIES[action],
          response: { ...ok('Asterisk applied it (or, for logout, the member was not there)', { $ref: 'QueueOperationResult#' }), ...errorsOf(400, 401, 403, 404, 409, 413, 415, 429, 502, 503, 504) },
        },
      },
      async (req) => {
        const b = req.body;
        if (action === 'login' && b.reason !== undefined && b.paused !== true) {
          throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'body.reason', detail: 'a reason is taken only with paused: true' }, { field: 'body.reason' });
        }
        const r = await deps.queue.execute({ actor: req.user!.id, action, extension: b.extension, queue: b.queue, reason: b.reason, penalty: b.penalty, paused: b.paused, source: 'http', ip: req.ip });
        return { ok: true, action: r.action, extension: r.extension, queue: r.queue, interface: r.interface, server: r.server, ami: r.ami, decision: r.decision, auditId: r.auditId };
      },
    );
  }

  app.get<{ Querystring: Static<typeof MembersQuery> }>(
    '/v1/queue/members',
    { ...auth, schema: { operationId: 'listQueueMembers', tags: ['queue'], summary: 'Live queue members (from AMI events and QueueStatus)', querystring: MembersQuery, response: { ...ok('The members, filtered', MembersResult), ...errors } } },
    async (req) => ({ members: deps.queue.members({ queue: req.query.queue, extension: req.query.extension }) }),
  );

  app.get('/v1/me/capabilities', { ...auth, schema: { operationId: 'getMyCapabilities', tags: ['policy'], summary: 'What the caller may do: which UI buttons to show', response: { ...ok("The caller's capabilities", { $ref: 'Capabilities#' }), ...errors } } }, async (req) => capabilities(deps.policy.current(), req.user!.id, req.ip));

  app.get<{ Querystring: Static<typeof ExplainQuery> }>(
    '/v1/explain',
    { ...auth, schema: { operationId: 'explainDecision', tags: ['policy'], summary: 'May <user> do <action> on <extension> [queue], and why (others than yourself: managers and above)', querystring: ExplainQuery, response: { ...ok('The decision with every check, and as sentences', ExplainResult), ...errors } } },
    async (req) => {
      const q = req.query;
      const target = q.user ?? req.user!.id;
      const self = userById(deps.policy.current(), req.user!.id)!;
      if (target !== req.user!.id && roleRank(self.role) < roleRank('manager')) {
        throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: 'only managers and above explain decisions for other users' }, { field: 'query.user' });
      }
      const request = { actor: target, action: q.action, extension: q.extension, queue: q.queue, source: 'http' as const, ip: req.ip };
      const d = decide(deps.policy.current(), request);
      return { ...plainDecision(d), text: explain(d, request) };
    },
  );

  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/v1/audit',
    { ...auth, schema: { operationId: 'listAudit', tags: ['audit'], summary: 'Audit records, newest first (agents: their own only)', querystring: AuditQuery, response: { ...ok('The matching records, newest first', AuditResult), ...errors } } },
    async (req) => {
      const self = userById(deps.policy.current(), req.user!.id)!;
      const filter = { ...req.query };
      // Agents see their own records; supervisors and above see everyone's.
      if (self.role === 'agent') filter.actor = self.id;
      return { entries: await deps.store.queryAudit(filter) };
    },
  );

  app.get(
    '/v1/policy',
    {
      ...auth,
      schema: {
        operationId: 'getPolicy',
        tags: ['policy'],
        summary: 'The policy in force and its version, as far as the caller may see it',
        description:
          'Administrators and owners get the whole document (view: full). Everyone else (view: restricted) sees themselves in full plus the users they may act on: ' +
          'a supervisor the members of the groups it supervises, a manager every user of a lower role; those others without addresses and without flags.ipAllow. ' +
          'An agent sees only itself. Extensions: those of the visible users; groups: those of visible users or supervised by the caller, listing visible members only; ' +
          'grants: those whose subject is visible; queues: all.',
        response: { ...ok('The policy document as far as the caller may see it', { $ref: 'PolicyView#' }), ...errors },
      },
    },
    async (req) => policyView(deps.policy.current(), req.user!.id),
  );

  app.post<{ Body: ChangeBodyT }>(
    '/v1/policy/changes',
    {
      ...auth,
      schema: {
        operationId: 'changePolicy',
        tags: ['policy'],
        summary: 'Change users, groups, extensions, queues or grants (administration rules apply; versioned)',
        body: ChangeBody,
        response: { ...ok('Applied: the new version', ChangeResult), ...errorsOf(400, 401, 403, 404, 409, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      const r = await applyPolicyChange({ policy: deps.policy, store: deps.store, clock: deps.clock, logger: log }, req.user!.id, req.body.expectedVersion, req.body.change);
      return { ok: true, version: r.version };
    },
  );

  app.post<{ Body: Static<typeof TokenBody> }>(
    '/v1/tokens',
    {
      ...auth,
      schema: {
        operationId: 'issueToken',
        tags: ['tokens'],
        summary: 'Issue an API token: for yourself, or (administrators and owners) for a user of a lower role; audited',
        body: TokenBody,
        response: { ...ok('The new token (shown once)', TokenResult), ...errorsOf(400, 401, 403, 404, 413, 415, 429) },
      },
    },
    async (req) => tokenAdmin.issue(req.user!.id, req.body),
  );
  app.delete<{ Params: Static<typeof TokenParams> }>(
    '/v1/tokens/:hash',
    {
      ...auth,
      schema: {
        operationId: 'revokeToken',
        tags: ['tokens'],
        summary: 'Revoke a token by its sha-256: your own, or (administrators and owners) one of a user of a lower role; audited',
        params: TokenParams,
        response: { ...ok('Revoked', OkResult), ...errors },
      },
    },
    async (req) => {
      await tokenAdmin.revoke(req.user!.id, req.params.hash);
      return { ok: true };
    },
  );

  // Every code the API can answer with is documented (docs/errors.md); expose the list too.
  app.get(
    '/v1/errors',
    { schema: { operationId: 'listErrorCodes', tags: ['meta'], summary: 'Every error code with its HTTP status (no token needed)', security: [], response: { ...ok('Every code', ErrorCodesResult), ...errorsOf(429) } } },
    async () => Object.entries(ERROR_CODES).map(([code, e]) => ({ code, status: e.status })),
  );

  await app.ready();
  return app;
}
