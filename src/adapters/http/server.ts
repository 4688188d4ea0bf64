/**
 * The HTTP API (fastify, under /v1): this file builds the server; the routes, by group, are in
 * routes/ and only parse and call use cases (src/app). Schemas are declared on the routes (TypeBox,
 * schemas.ts), so validation errors name the field and @fastify/swagger serves the OpenAPI document
 * at /docs (UI) and /docs/json. Every error answer goes through one path (errors.ts):
 * `{ code, message, field? }` with the stable codes of src/errors/codes.ts (docs/errors.md).
 *
 * Request order on an authenticated route: authenticate (onRequest, before the body is even read,
 * so an unauthenticated caller learns nothing about the schemas) → rate limit keyed on the
 * authenticated token → parse → validate → handler. Failed authentications are limited per source
 * address (http.authFailures), so guessing tokens is slow whatever each guess looks like.
 *
 * Authentication: `Authorization: Bearer <token>`; the token maps to a user; the request's source
 * address (X-Forwarded-For only from http.trustedProxies) must be in that user's IP allow-list
 * (src/app/api-auth.ts).
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { PolicyHolder } from '../../app/policy-holder.js';
import type { QueueService } from '../../app/queue-service.js';
import type { CallControlService } from '../../app/call-control.js';
import type { TokenService } from '../../app/tokens.js';
import { authenticateCaller } from '../../app/api-auth.js';
import { AgentgateError } from '../../errors/codes.js';
import { createAuthFailureLimiter } from './auth-failures.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { openApiServers, withDiscriminatorMappings } from './openapi.js';
import { frameworkErrors, installErrorPath, schemaError } from './errors.js';
import type { RouteKit } from './routes/kit.js';
import { metaRoutes } from './routes/meta.js';
import { queueRoutes } from './routes/queue.js';
import { policyRoutes } from './routes/policy.js';
import { tokenRoutes } from './routes/tokens.js';
import { callRoutes } from './routes/calls.js';

/** What /readyz answers: ok only when every component is; `failing` says which and why. */
export interface Readiness {
  ok: boolean;
  failing: Array<{ component: string; reason: string }>;
  components: Record<string, unknown>;
}

export interface HttpDeps {
  config: Config;
  queue: QueueService;
  /** Call control of the calls this instance drives (GET /v1/calls, POST /v1/calls/{id}/...). */
  calls: CallControlService;
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
    // A schema error is an AgentgateError naming the field, like every other error (errors.ts).
    schemaErrorFormatter: schemaError,
    frameworkErrors: frameworkErrors({ bodyLimit: config.http.bodyLimit }),
  });
  const log = deps.logger.child({ component: 'http' });
  const authFailures = createAuthFailureLimiter({
    max: config.http.authFailures.max,
    windowMs: config.http.authFailures.timeWindowMs,
    now: () => deps.clock.now(),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'agentgate',
        version: '0.1.0',
        description:
          'Ring-all dispatch and policy-gated queue agent operations beside Asterisk. Errors are `{ code, message, field? }` with the codes of docs/errors.md (GET /v1/errors).',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      tags: [
        { name: 'calls', description: 'Calls this instance drives and call control (hold, hangup, end, transfer, requeue)' },
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
    transformObject: (doc) =>
      'openapiObject' in doc
        ? withDiscriminatorMappings({
            ...doc.openapiObject,
            servers: openApiServers(config.http.host, app.server.address(), config.http.port),
          })
        : doc.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    max: config.http.rateLimit.max,
    timeWindow: config.http.rateLimit.timeWindowMs,
    // Runs after the route's own onRequest (authentication): an authenticated request counts against
    // its token however the header was spelt; anything else against its source address.
    keyGenerator: (req) => (req.user ? `token:${req.user.tokenHash}` : `ip:${req.ip}`),
    // Thrown by the plugin, so it takes the one error path (the plugin sets Retry-After itself).
    errorResponseBuilder: (_req, ctx) => new AgentgateError('AGENTGATE_ERR_RATE_LIMITED', { retryAfter: ctx.after }),
  });

  // JSON only: a text/plain body would otherwise reach the schemas as a string.
  app.removeContentTypeParser('text/plain');
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Response schemas document the API (OpenAPI) and are checked against real answers by the tests;
  // they do not filter what is sent (fast-json-stringify would silently drop a field they miss).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('preValidation', async (req) => coerceQuery(req));
  installErrorPath(app, { bodyLimit: config.http.bodyLimit, log });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequest({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode });
  });

  /**
   * Bearer token → caller (src/app/api-auth.ts). An address with too many failed authentications
   * gets 429 without its token being looked at (else a guess could still tell a valid token from an
   * invalid one).
   */
  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const wait = authFailures.blockedFor(req.ip);
    if (wait > 0) {
      const secs = Math.ceil(wait / 1000);
      throw new AgentgateError('AGENTGATE_ERR_RATE_LIMITED', {
        retryAfter: `${secs} s (too many failed authentications from ${req.ip})`,
        retryAfterSec: secs,
      });
    }
    const h = req.headers.authorization;
    const m = h === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
    try {
      req.user = await authenticateCaller(deps, m?.[1], req.ip);
    } catch (err) {
      if (err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_UNAUTHENTICATED') authFailures.failed(req.ip);
      throw err;
    }
  };
  const kit: RouteKit = { deps, auth: { onRequest: authenticate } };
  metaRoutes(app, kit);
  queueRoutes(app, kit);
  policyRoutes(app, kit);
  tokenRoutes(app, kit);
  callRoutes(app, kit);

  await app.ready();
  return app;
}
