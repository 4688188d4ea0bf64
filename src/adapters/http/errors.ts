/**
 * The one error path of the HTTP API. Whatever fails — a schema (through fastify's
 * schemaErrorFormatter), a use case, authentication, the rate limiter, fastify itself (body too
 * large, wrong content type, bad JSON), an unknown route or a bug — becomes an AgentgateError, and
 * one function writes it: `{ code, message, field?, decision? }` with the code's HTTP status
 * (docs/errors.md). `field` always says where the bad input was: `body.<path>`, `query.<name>`,
 * `params.<name>` or `headers.<name>`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { Logger } from 'pino';
import { AgentgateError } from '../../errors/codes.js';
import { NO_CONTROL } from './schemas.js';

/** fastify's validation contexts → the prefix of `field`. */
const LOCATION: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/**
 * fastify's schemaErrorFormatter: the first schema error as AGENTGATE_ERR_VALIDATION (or
 * AGENTGATE_ERR_CRLF for a control character), naming the field.
 */
export function schemaError(errors: FastifySchemaValidationError[], dataVar: string): AgentgateError {
  const v = errors[0];
  const where = LOCATION[dataVar] ?? 'body';
  if (v === undefined) return new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: where, detail: 'invalid' }, { field: where });
  let path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const param = (name: string): string => String((v.params as Record<string, unknown> | undefined)?.[name] ?? '');
  if (v.keyword === 'required') path = [path, param('missingProperty')].filter(Boolean).join('.');
  if (v.keyword === 'additionalProperties') path = [path, param('additionalProperty')].filter(Boolean).join('.');
  if (v.keyword === 'discriminator') path = [path, param('tag') || 'op'].filter(Boolean).join('.');
  const field = `${where}${path ? `.${path}` : ''}`;
  if (v.keyword === 'pattern' && param('pattern') === NO_CONTROL) return new AgentgateError('AGENTGATE_ERR_CRLF', { field }, { field });
  const detail = v.keyword === 'additionalProperties' ? 'not accepted here' : (v.message ?? 'invalid');
  return new AgentgateError('AGENTGATE_ERR_VALIDATION', { field, detail }, { field });
}

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

/** Anything thrown while serving a request, as the AgentgateError the client gets. */
export function asAgentgateError(err: unknown, req: FastifyRequest, ctx: { bodyLimit: number }): AgentgateError {
  if (err instanceof AgentgateError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new AgentgateError('AGENTGATE_ERR_BODY_TOO_LARGE', { limit: ctx.bodyLimit });
  if (e.statusCode === 415 || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const contentType = String(req.headers['content-type'] ?? '(none)').slice(0, 100);
    return new AgentgateError(
      'AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE',
      { contentType: JSON.stringify(contentType) },
      { field: 'headers.content-type' },
    );
  }
  if (e.statusCode === 429) return new AgentgateError('AGENTGATE_ERR_RATE_LIMITED', { retryAfter: 'a moment' });
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const detail = 'a path parameter is longer than 100 characters';
    return new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'params', detail }, { field: 'params', message: detail });
  }
  if (e.statusCode === 404) return new AgentgateError('AGENTGATE_ERR_NOT_FOUND', { what: `${req.method} ${req.url.split('?')[0]}` });
  // Anything else fastify refuses before a handler runs (bad JSON, an empty JSON body, a bad URL) is the client's input.
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    const detail = e.message ?? 'bad request';
    return new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'body', detail }, { field: 'body', message: detail });
  }
  return new AgentgateError('AGENTGATE_ERR_INTERNAL', {}, { cause: err });
}

/** Writes the error body and status (and Retry-After when the error says how long to wait). */
function sendError(reply: FastifyReply, req: FastifyRequest, err: AgentgateError): FastifyReply {
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.field !== undefined) body.field = locateField(req, err.field);
  const { decision, retryAfterSec } = err.details as { decision?: unknown; retryAfterSec?: unknown };
  if (decision) body.decision = decision;
  if (typeof retryAfterSec === 'number') reply.header('retry-after', String(retryAfterSec));
  return reply.status(err.status).send(body);
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a path
 * parameter longer than maxParamLength, a URL it cannot decode) gets the same `{code, message, field}`
 * body as every other error, not fastify's own.
 */
export function frameworkErrors(ctx: { bodyLimit: number }): (err: unknown, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, req, reply) => {
    sendError(reply, req, asAgentgateError(err, req, ctx));
  };
}

/** Installs the error handler and the not-found handler: every error answer goes through sendError. */
export function installErrorPath(app: FastifyInstance, ctx: { bodyLimit: number; log: Logger }): void {
  app.setErrorHandler((err: unknown, req, reply) => {
    const e = asAgentgateError(err, req, ctx);
    if (e.code === 'AGENTGATE_ERR_INTERNAL') ctx.log.error({ err, url: req.url }, 'unhandled HTTP error');
    return sendError(reply, req, e);
  });
  app.setNotFoundHandler(async (req) => {
    throw new AgentgateError('AGENTGATE_ERR_NOT_FOUND', { what: `${req.method} ${req.url.split('?')[0]}` });
  });
}
