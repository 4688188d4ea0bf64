/** The policy: the caller's capabilities, decisions explained, the document and its changes, the audit. */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { capabilities } from '../../../domain/policy/index.js';
import { applyPolicyChange } from '../../../app/policy-admin.js';
import { policyView } from '../../../app/policy-view.js';
import { explainForCaller } from '../../../app/policy-explain.js';
import { auditForCaller } from '../../../app/audit-view.js';
import { AuditQuery, AuditResult, ChangeBody, ChangeResult, ExplainQuery, ExplainResult, type ChangeBodyT } from '../schemas.js';
import { callerOf, errorsOf, ok, readErrors, type RouteKit } from './kit.js';

export function policyRoutes(app: FastifyInstance, { deps, auth }: RouteKit): void {
  const log = deps.logger.child({ component: 'http' });

  app.get(
    '/v1/me/capabilities',
    {
      ...auth,
      schema: {
        operationId: 'getMyCapabilities',
        tags: ['policy'],
        summary: 'What the caller may do: which UI buttons to show',
        response: { ...ok("The caller's capabilities", { $ref: 'Capabilities#' }), ...readErrors },
      },
    },
    async (req) => capabilities(deps.policy.current(), callerOf(req), req.ip),
  );

  app.get<{ Querystring: Static<typeof ExplainQuery> }>(
    '/v1/explain',
    {
      ...auth,
      schema: {
        operationId: 'explainDecision',
        tags: ['policy'],
        summary: 'May <user> do <action> on <extension> [queue], and why (others than yourself: managers and above)',
        querystring: ExplainQuery,
        response: { ...ok('The decision with every check, and as sentences', ExplainResult), ...readErrors },
      },
    },
    async (req) => explainForCaller(deps.policy.current(), callerOf(req), req.query, req.ip),
  );

  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/v1/audit',
    {
      ...auth,
      schema: {
        operationId: 'listAudit',
        tags: ['audit'],
        summary: 'Audit records, newest first (agents: their own only)',
        querystring: AuditQuery,
        response: { ...ok('The matching records, newest first', AuditResult), ...readErrors },
      },
    },
    async (req) => ({ entries: await auditForCaller(deps, callerOf(req), req.query) }),
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
        response: { ...ok('The policy document as far as the caller may see it', { $ref: 'PolicyView#' }), ...readErrors },
      },
    },
    async (req) => policyView(deps.policy.current(), callerOf(req)),
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
      const r = await applyPolicyChange(
        { policy: deps.policy, store: deps.store, clock: deps.clock, logger: log },
        callerOf(req),
        req.body.expectedVersion,
        req.body.change,
      );
      return { ok: true, version: r.version };
    },
  );
}
