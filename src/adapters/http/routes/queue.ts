/** Queue agent operations (policy-gated, then AMI) and the live members. */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { AgentgateError } from '../../../errors/codes.js';
import { QUEUE_ACTIONS } from '../../../domain/policy/index.js';
import { MembersQuery, MembersResult, QUEUE_BODIES, type QueueBodyT } from '../schemas.js';
import { callerOf, errorsOf, ok, readErrors, type RouteKit } from './kit.js';

export function queueRoutes(app: FastifyInstance, { deps, auth }: RouteKit): void {
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
          response: {
            ...ok('Asterisk applied it (or, for logout, the member was not there)', { $ref: 'QueueOperationResult#' }),
            ...errorsOf(400, 401, 403, 404, 409, 413, 415, 429, 502, 503, 504),
          },
        },
      },
      async (req) => {
        const b = req.body;
        // The body's shape: a reason on a login only goes with paused (it is the pause reason).
        if (action === 'login' && b.reason !== undefined && b.paused !== true) {
          throw new AgentgateError(
            'AGENTGATE_ERR_VALIDATION',
            { field: 'body.reason', detail: 'a reason is taken only with paused: true' },
            { field: 'body.reason' },
          );
        }
        const r = await deps.queue.execute({
          actor: callerOf(req),
          action,
          extension: b.extension,
          queue: b.queue,
          reason: b.reason,
          penalty: b.penalty,
          paused: b.paused,
          source: 'http',
          ip: req.ip,
        });
        return {
          ok: true,
          action: r.action,
          extension: r.extension,
          queue: r.queue,
          interface: r.interface,
          server: r.server,
          ami: r.ami,
          decision: r.decision,
          auditId: r.auditId,
        };
      },
    );
  }

  app.get<{ Querystring: Static<typeof MembersQuery> }>(
    '/v1/queue/members',
    {
      ...auth,
      schema: {
        operationId: 'listQueueMembers',
        tags: ['queue'],
        summary: 'Live queue members (from AMI events and QueueStatus)',
        querystring: MembersQuery,
        response: { ...ok('The members, filtered', MembersResult), ...readErrors },
      },
    },
    async (req) => ({ members: deps.queue.members({ queue: req.query.queue, extension: req.query.extension }) }),
  );
}
