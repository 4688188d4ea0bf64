/** API tokens: issue and revoke (rules in src/app/token-admin.ts). */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { createTokenAdmin } from '../../../app/token-admin.js';
import { OkResult, TokenBody, TokenParams, TokenResult } from '../schemas.js';
import { callerOf, errorsOf, ok, readErrors, type RouteKit } from './kit.js';

export function tokenRoutes(app: FastifyInstance, { deps, auth }: RouteKit): void {
  const tokenAdmin = createTokenAdmin({
    tokens: deps.tokens,
    policy: deps.policy,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
  });

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
    async (req) => tokenAdmin.issue(callerOf(req), req.body),
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
        response: { ...ok('Revoked', OkResult), ...readErrors },
      },
    },
    async (req) => {
      await tokenAdmin.revoke(callerOf(req), req.params.hash);
      return { ok: true };
    },
  );
}
