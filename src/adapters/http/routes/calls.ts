/** The calls this instance drives and call control on them (src/app/call-control.ts; docs/api.md "Calls"). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { AgentgateError } from '../../../errors/codes.js';
import type { CallActionName, CallActionResult, CallControlService } from '../../../app/call-control.js';
import { CallParams, CallsResult, RequeueBody, TransferBody, type TransferBodyT } from '../schemas.js';
import { callerOf, errorsOf, ok, readErrors, type RouteKit } from './kit.js';

type Params = Static<typeof CallParams>;

const SIMPLE: ReadonlyArray<{ action: CallActionName; summary: string }> = [
  { action: 'hold', summary: 'Put the customer on hold (music on hold to the customer; the agent stays on the line)' },
  { action: 'unhold', summary: 'Take the customer off hold' },
  { action: 'hangup', summary: 'The agent leaves: the customer goes on in the dialplan (AGENTGATE_RESULT=AGENT_HANGUP)' },
  { action: 'end', summary: 'End the call for everyone (the customer is hung up too)' },
];
const ACTION_ERRORS = errorsOf(400, 401, 403, 404, 409, 413, 415, 429, 502, 503, 504);
const EmptyBody = Type.Object({}, { additionalProperties: false, description: 'nothing (no body, or {})' });
/** These actions may be sent without a body: it is then validated as `{}`. */
const noBodyIsEmpty = async (req: FastifyRequest): Promise<void> => {
  if (req.body === undefined || req.body === null) req.body = {};
};

export function callRoutes(app: FastifyInstance, { deps, auth }: RouteKit): void {
  app.get(
    '/v1/calls',
    {
      ...auth,
      schema: {
        operationId: 'listCalls',
        tags: ['calls'],
        summary: "The calls this agentgate instance drives (ringing, talking, on hold) that the user may see, with the user's capabilities",
        response: { ...ok('The calls', CallsResult), ...readErrors },
      },
    },
    async (req) => ({ calls: deps.calls.list(callerOf(req), req.ip) }),
  );

  const name = (a: string): string => `${a[0]!.toUpperCase()}${a.slice(1)}`;
  for (const { action, summary } of SIMPLE) {
    app.post<{ Params: Params }>(
      `/v1/calls/:callId/${action}`,
      {
        ...auth,
        preValidation: noBodyIsEmpty,
        schema: {
          operationId: `call${name(action)}`,
          tags: ['calls'],
          summary,
          params: CallParams,
          body: EmptyBody,
          response: { ...ok('Asterisk applied it', { $ref: 'CallActionResult#' }), ...ACTION_ERRORS },
        },
      },
      async (req) => deps.calls.act({ actor: callerOf(req), ip: req.ip, callId: req.params.callId, action }),
    );
  }

  app.post<{ Params: Params; Body: TransferBodyT }>(
    '/v1/calls/:callId/transfer',
    {
      ...auth,
      schema: {
        operationId: 'callTransfer',
        tags: ['calls'],
        summary:
          'Blind transfer of the customer to a number (`{to}`, AGENTGATE_RESULT=TRANSFERRED; the agent leaves), or direct transfer to a colleague (`{agent, mode}`: blind or warm; 200 once the colleague rings)',
        params: CallParams,
        body: TransferBody,
        response: { ...ok('Asterisk applied it', { $ref: 'CallActionResult#' }), ...ACTION_ERRORS },
      },
    },
    async (req) => {
      const b = req.body;
      const invalid = (field: string, detail: string): AgentgateError =>
        new AgentgateError('AGENTGATE_ERR_VALIDATION', { field, detail }, { field });
      if (b.to !== undefined) {
        if (b.agent !== undefined) throw invalid('body.agent', 'give either to (a number) or agent (a colleague), not both');
        if (b.mode !== undefined) throw invalid('body.mode', 'mode goes with agent (direct transfer), not with to');
        return deps.calls.act({ actor: callerOf(req), ip: req.ip, callId: req.params.callId, action: 'transfer', to: b.to });
      }
      if (b.agent === undefined) throw invalid('body.to', 'give to (a number) or agent and mode (a colleague)');
      if (b.mode === undefined) throw invalid('body.mode', "a direct transfer needs mode 'blind' or 'warm'");
      return directTransferOverHttp(deps.calls, {
        actor: callerOf(req),
        ip: req.ip,
        callId: req.params.callId,
        body: { agent: b.agent, mode: b.mode },
      });
    },
  );

  app.post<{ Params: Params; Body: Static<typeof RequeueBody> }>(
    '/v1/calls/:callId/requeue',
    {
      ...auth,
      preValidation: noBodyIsEmpty,
      schema: {
        operationId: 'callRequeue',
        tags: ['calls'],
        summary: 'Send the customer back to a queue (AGENTGATE_RESULT=REQUEUED); the agent leaves',
        params: CallParams,
        body: RequeueBody,
        response: { ...ok('Asterisk applied it', { $ref: 'CallActionResult#' }), ...ACTION_ERRORS },
      },
    },
    async (req) =>
      deps.calls.act({
        actor: callerOf(req),
        ip: req.ip,
        callId: req.params.callId,
        action: 'requeue',
        ...(req.body.queue === undefined ? {} : { queue: req.body.queue }),
      }),
  );
}

/** `{agent, mode}`: the direct transfer use case's answer as HTTP (404, 403 with the decision, 409 busy or state, 503 Store). */
async function directTransferOverHttp(
  calls: CallControlService,
  req: { actor: string; ip: string; callId: string; body: { agent: string; mode: 'blind' | 'warm' } },
): Promise<CallActionResult & { transfer: { target: string; mode: 'blind' | 'warm'; state: 'ringing'; devices: string[] } }> {
  const out = await calls.directTransfer({
    callId: req.callId,
    targetAgent: req.body.agent,
    mode: req.body.mode,
    actor: req.actor,
    source: 'http',
    ip: req.ip,
  });
  if (out.ok) {
    out.outcome.catch(() => undefined);
    return {
      ok: true,
      callId: out.callId,
      action: 'directTransfer',
      decision: out.decision,
      ...(out.auditId === undefined ? {} : { auditId: out.auditId }),
      transfer: { target: out.target, mode: out.mode, state: 'ringing', devices: out.devices },
    };
  }
  switch (out.reason) {
    case 'not-found':
      throw new AgentgateError('AGENTGATE_ERR_CALL_NOT_FOUND', { id: req.callId }, { field: 'params.callId' });
    case 'denied':
      throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: out.detail, decision: out.decision! });
    case 'busy':
      throw new AgentgateError('AGENTGATE_ERR_AGENT_BUSY', { agent: req.body.agent, detail: out.detail }, { field: 'body.agent' });
    case 'store':
      throw new AgentgateError('AGENTGATE_ERR_STORE', { detail: out.detail });
    case 'no-agent':
    case 'state':
      throw new AgentgateError('AGENTGATE_ERR_CALL_STATE', { id: req.callId, action: 'transferred', detail: out.detail });
  }
}
