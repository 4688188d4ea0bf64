/**
 * Error parameters are typed from their message templates: a call site that passes `action` where the
 * template says `{operation}` (the bug that printed "ARI {operation} got no answer") no longer
 * compiles. The `@ts-expect-error` lines are the test: `npm test` typechecks first, and an expected
 * error that disappears fails the typecheck.
 */
import { describe, expect, it } from 'vitest';
import { AgentgateError, ERROR_CODES } from '../../../src/errors/codes.js';

describe('error codes', () => {
  it('renders every placeholder of its template from typed parameters', () => {
    const e = new AgentgateError('AGENTGATE_ERR_ARI_TIMEOUT', { operation: 'GET /bridges', ms: 150 });
    expect(e.message).toBe('ARI GET /bridges got no answer within 150 ms');
    expect(e.status).toBe(504);
    expect(e.message).not.toMatch(/\{\w+\}/);
  });

  it('tsc refuses a parameter the template does not name, and a missing one', () => {
    const wrong = (): AgentgateError =>
      // @ts-expect-error `action` is not a placeholder of "ARI {operation} got no answer within {ms} ms"
      new AgentgateError('AGENTGATE_ERR_ARI_TIMEOUT', { action: 'GET /bridges', ms: 150 });
    // The template is left showing the hole: what the typecheck now prevents.
    expect(wrong().message).toContain('{operation}');
    // @ts-expect-error `detail` is required by "Invalid value for {field}: {detail}"
    expect(() => new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'body.queue' })).not.toThrow();
    // A code without placeholders takes no parameters.
    expect(new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED').message).toBe(ERROR_CODES.AGENTGATE_ERR_UNAUTHENTICATED.message);
  });
});
