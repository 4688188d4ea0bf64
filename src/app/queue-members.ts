/**
 * The live queue members, per server: follows Asterisk's QueueMember* events and is replaced by a
 * full re-read (QueueStatus) after every (re)connect and FullyBooted, so a missed event never
 * outlives the next connection. Each member is tied to the extension and user of the policy in force.
 */
import type { Logger } from 'pino';
import type { QueueControl, QueueMemberState } from '../ports/queue-control.js';
import { extensionByInterface, userOwningExtension } from '../domain/policy/index.js';
import type { PolicyHolder } from './policy-holder.js';

export interface MemberView extends QueueMemberState {
  server: string;
  extension?: string;
  user?: string;
}

export interface MemberFilter {
  queue?: string;
  extension?: string;
  server?: string;
}

export interface QueueMembers {
  changed(server: string, member: QueueMemberState): void;
  removed(server: string, queue: string, iface: string): void;
  /** Re-reads every member of that server; a failure is logged and the old state kept. */
  reread(pbx: QueueControl): Promise<void>;
  list(filter?: MemberFilter): MemberView[];
}

export function createQueueMembers(deps: { policy: PolicyHolder; logger: Logger }): QueueMembers {
  /** server → queue → interface → member */
  const state = new Map<string, Map<string, Map<string, MemberView>>>();

  const view = (server: string, s: QueueMemberState): MemberView => {
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, s.interface);
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    const m: MemberView = { server, ...s };
    if (ext) m.extension = ext.id;
    if (owner) m.user = owner.id;
    return m;
  };
  const put = (qs: Map<string, Map<string, MemberView>>, m: MemberView): void => {
    let q = qs.get(m.queue);
    if (!q) qs.set(m.queue, (q = new Map()));
    q.set(m.interface, m);
  };
  const queuesOf = (server: string): Map<string, Map<string, MemberView>> => {
    let q = state.get(server);
    if (!q) state.set(server, (q = new Map()));
    return q;
  };

  return {
    changed: (server, member) => put(queuesOf(server), view(server, member)),
    removed: (server, queue, iface) => {
      queuesOf(server).get(queue)?.delete(iface);
    },
    async reread(pbx) {
      try {
        const items = await pbx.members();
        const fresh = new Map<string, Map<string, MemberView>>();
        for (const it of items) put(fresh, view(pbx.server, it));
        state.set(pbx.server, fresh);
        deps.logger.info({ server: pbx.server, members: items.length }, 'queue members re-read with QueueStatus');
      } catch (err) {
        deps.logger.warn({ server: pbx.server, err }, 'QueueStatus failed');
      }
    },
    list(filter = {}) {
      const out: MemberView[] = [];
      for (const [server, qs] of state) {
        if (filter.server !== undefined && filter.server !== server) continue;
        for (const [queue, ms] of qs) {
          if (filter.queue !== undefined && filter.queue !== queue) continue;
          for (const m of ms.values()) if (filter.extension === undefined || m.extension === filter.extension) out.push({ ...m });
        }
      }
      return out;
    },
  };
}
