/**
 * A Store that can be switched "down" (every call rejects with AGENTGATE_ERR_STORE, as the Redis
 * Store does when Redis is unreachable) or made to refuse only audit writes (Redis died between the
 * AMI action and the audit record). Wraps a real memory Store.
 */
import { AgentgateError } from '../../src/errors/codes.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';

export interface FlakyStore extends Store {
  /** Every call rejects. */
  down: boolean;
  /** Only appendAudit rejects. */
  auditDown: boolean;
  readonly inner: Store;
}

export function flakyStore(): FlakyStore {
  const inner = createMemoryStore({ clock: systemClock() });
  const state = { down: false, auditDown: false };
  const fail = (): AgentgateError => new AgentgateError('AGENTGATE_ERR_STORE', { detail: 'connect ECONNREFUSED 127.0.0.1:6379' });
  const proxy = new Proxy(inner, {
    get(target, prop: string) {
      if (prop === 'down' || prop === 'auditDown') return state[prop];
      if (prop === 'inner') return inner;
      const v = (target as unknown as Record<string, unknown>)[prop];
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        if (state.down || (prop === 'appendAudit' && state.auditDown)) throw fail();
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
    set(_target, prop: string, value: boolean) {
      if (prop !== 'down' && prop !== 'auditDown') return false;
      state[prop] = value;
      return true;
    },
  });
  return proxy as FlakyStore;
}
