/**
 * Finds the dispatches of dead instances (their heartbeat lease expired) on one Asterisk server and
 * moves them to this instance, which then cleans them up like its own after a restart.
 *
 * An owner must be seen without a heartbeat for `graceMs` before its work is taken: after a Redis
 * outage or an empty restart every heartbeat is briefly missing, and a live owner re-takes its own
 * within one retry. The move itself (Store.adoptDispatches) checks the heartbeat again, atomically
 * per record, so each record is adopted by exactly one instance.
 */
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { DispatchRecord, Store } from '../ports/store.js';
import { instanceLeaseKey } from './instance-heartbeat.js';

export interface OrphanAdopter {
  /** One look: the records just moved to this instance, with their dead owner (empty most of the time). */
  scan(): Promise<Array<{ from: string; record: DispatchRecord }>>;
}

export function createOrphanAdopter(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  server: string;
  graceMs: number;
}): OrphanAdopter {
  const missingSince = new Map<string, number>();
  return {
    async scan() {
      const records = await deps.store.listDispatches({ server: deps.server });
      const owners = new Set(records.map((d) => d.owner).filter((o) => o !== deps.instanceId));
      for (const o of missingSince.keys()) if (!owners.has(o)) missingSince.delete(o);
      const adopted: Array<{ from: string; record: DispatchRecord }> = [];
      for (const owner of owners) {
        if ((await deps.store.leaseHolder(instanceLeaseKey(owner))) !== null) {
          missingSince.delete(owner);
          continue;
        }
        const now = deps.clock.now();
        const since = missingSince.get(owner) ?? now;
        missingSince.set(owner, since);
        if (now - since < deps.graceMs) continue;
        const moved = await deps.store.adoptDispatches({
          from: owner,
          to: deps.instanceId,
          server: deps.server,
          unlessLeaseHeld: instanceLeaseKey(owner),
        });
        if (moved.length > 0)
          deps.logger.warn(
            { deadInstance: owner, dispatches: moved.map((d) => d.id) },
            'adopted the dispatches of an instance whose heartbeat expired',
          );
        adopted.push(...moved.map((record) => ({ from: owner, record })));
      }
      return adopted;
    },
  };
}
