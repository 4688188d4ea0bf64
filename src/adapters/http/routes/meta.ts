/** About the daemon and the API itself: liveness, readiness, metrics, the error codes. */
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../../errors/codes.js';
import { ErrorCodesResult } from '../schemas.js';
import { errorsOf, ok, type RouteKit } from './kit.js';

export function metaRoutes(app: FastifyInstance, { deps }: RouteKit): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const h = await deps.health();
    return reply.status(h.ok ? 200 : 503).send(h);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const m = await deps.metrics.render();
    return reply.type(m.contentType).send(m.body);
  });
  // Every code the API can answer with is documented (docs/errors.md); expose the list too.
  app.get(
    '/v1/errors',
    {
      schema: {
        operationId: 'listErrorCodes',
        tags: ['meta'],
        summary: 'Every error code with its HTTP status (no token needed)',
        security: [],
        response: { ...ok('Every code', ErrorCodesResult), ...errorsOf(429) },
      },
    },
    async () => Object.entries(ERROR_CODES).map(([code, e]) => ({ code, status: e.status })),
  );
}
