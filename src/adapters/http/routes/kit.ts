/**
 * What every route group gets: the daemon's services, the authentication hook and the helpers that
 * document responses in OpenAPI. Route handlers only parse the request and call a use case.
 */
import type { FastifyRequest } from 'fastify';
import type { HttpDeps } from '../server.js';

export interface RouteKit {
  deps: HttpDeps;
  /** Spread into a route's options: authenticates before the body is read. */
  auth: { onRequest: (req: FastifyRequest) => Promise<void> };
}

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

export const errorsOf = (...statuses: number[]): Record<number, unknown> =>
  Object.fromEntries(statuses.map((st) => [st, { description: ERROR_TEXT[st], $ref: 'Error#' }]));
export const ok = (description: string, schema: object): Record<number, unknown> => ({ 200: { description, ...schema } });
/** The errors of any authenticated GET. */
export const readErrors = errorsOf(400, 401, 403, 404, 429);

/** The authenticated caller's user id (the route's onRequest hook set it). */
export const callerOf = (req: FastifyRequest): string => req.user!.id;
