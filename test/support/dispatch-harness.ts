/**
 * A real dispatch service against a real simulator over real sockets, with the memory Store or
 * Redis (unique prefix), and helpers that wait for what the simulator saw.
 */
import { vi } from 'vitest';
import { Simulator, type EndpointScript } from '../../src/sim/index.js';
import { validateConfig, type Config } from '../../src/config/load.js';
import { createPolicyHolder } from '../../src/app/policy-holder.js';
import { startDispatchService, type DispatchService } from '../../src/app/dispatch-service.js';
import { createAriCallControl } from '../../src/adapters/ari/call-control.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Store } from '../../src/ports/store.js';
import type { CallControl } from '../../src/ports/call-control.js';
import type { InstanceHeartbeat } from '../../src/app/instance-heartbeat.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from './redis.js';

export type StoreKind = 'memory' | 'redis';

/** The agent most tests ring: three addresses, inbound calls on. */
export const ALICE = {
  id: 'alice',
  name: 'Alice',
  role: 'agent',
  scope: 'call_center_agent',
  extensions: ['1001'],
  addresses: ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003'],
  flags: { inbound: true },
};

export function dispatchConfig(
  sim: Simulator,
  over: { instance?: string; dispatch?: Record<string, unknown>; users?: unknown[] } = {},
): Config {
  return validateConfig({
    instance: { id: over.instance ?? 'test-1' },
    servers: [
      { name: 'pbx1', ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 } },
    ],
    dispatch: { answer: 'late', ringTimeoutSec: 5, ...(over.dispatch ?? {}) },
    directory: {
      users: over.users ?? [
        ALICE,
        { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent', addresses: ['PJSIP/2004'], flags: { inbound: false } },
      ],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
    },
  });
}

export async function makeStore(kind: StoreKind, shared?: { prefix: string }): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (kind === 'memory') {
    const store = createMemoryStore({ clock: systemClock() });
    return { store, cleanup: () => store.close() };
  }
  const prefix = shared?.prefix ?? uniquePrefix();
  const store = await createRedisStore({ url: REDIS_URL, prefix, clock: systemClock() });
  return {
    store,
    cleanup: async () => {
      await store.close();
      if (!shared) await deletePrefix(prefix);
    },
  };
}

export async function startService(
  sim: Simulator,
  store: Store,
  over: Parameters<typeof dispatchConfig>[1] & {
    logger?: Logger;
    leaseTtlMs?: number;
    heartbeat?: InstanceHeartbeat;
    app?: string;
    wrapCalls?: (calls: CallControl) => CallControl;
  } = {},
): Promise<DispatchService> {
  const config = dispatchConfig(sim, over);
  const server = config.servers[0]!;
  const ari = over.app === undefined ? server.ari! : { ...server.ari!, app: over.app };
  const logger = over.logger ?? silentLogger();
  return startDispatchService({
    server,
    calls: (over.wrapCalls ?? ((c) => c))(
      createAriCallControl({ ...ari, logger: logger.child({ component: 'dispatch', server: server.name }) }),
    ),
    dispatch: config.dispatch,
    store,
    policy: createPolicyHolder(config.directory),
    clock: systemClock(),
    logger,
    instanceId: config.instance.id,
    leaseTtlMs: over.leaseTtlMs,
    heartbeat: over.heartbeat,
  });
}

export function scripts(sim: Simulator, map: Record<string, EndpointScript>): void {
  for (const [k, v] of Object.entries(map)) sim.setEndpoint(k, v);
}

/**
 * Waits until pred holds, through vi.waitFor (checked every 10 ms), failing after timeoutMs with
 * "timed out waiting for <what>". Kept beside vi.waitFor for what it adds: pred is a plain boolean
 * (vi.waitFor needs a throw to go on waiting), and `what` may be a function read when the wait
 * fails, so a message that shows a process's output shows it as it was at the end of the wait
 * (a template string would show it as it was at the start). A pred that throws is tried again
 * until the timeout, like any vi.waitFor callback, and its last error is the failure's cause.
 */
export async function until(
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what: string | (() => string) = 'condition',
): Promise<void> {
  const message = (): string => `timed out waiting for ${typeof what === 'string' ? what : what()}`;
  await vi
    .waitFor(
      async () => {
        if (!(await pred())) throw new NotYet();
      },
      { timeout: timeoutMs, interval: 10 },
    )
    .catch((err: unknown) => {
      // NotYet, or vi.waitFor's own timeout while a check had not answered yet: the condition never held.
      throw new Error(
        message(),
        err instanceof NotYet || !(err instanceof Error) || err.message.startsWith('Timed out in waitFor') ? {} : { cause: err },
      );
    });
}

class NotYet extends Error {}
