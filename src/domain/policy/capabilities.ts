/**
 * What a user may do, for a UI to show or hide each button: per action, the extensions and queues
 * it may act on. It agrees with `decide`: an (extension, queue) pair from these lists on the same PBX
 * is allowed by decide (from an address in the user's allow-list), and every pair decide allows is
 * in the lists (a property test checks both ways).
 */
import type { CompiledPolicy, ExtensionIndex, UserIndex } from './compile.js';
import { ALL_ACTIONS, grantsFor } from './compile.js';
import { checkIp } from './ip.js';
import { roleCheck, scopeCheck, supervisionCheck } from './decide.js';
import type { QueueAction } from './types.js';

export interface Capabilities {
  user: string;
  /**
   * Show the Queue action button at all: false when the user may do nothing on any extension or
   * queue. The Login/Logout, Pause and Set Penalty buttons each follow their own action's lists.
   */
  queueButton: boolean;
  /**
   * login/logout: extensions it may log in/out and queues it may use (it needs both).
   * pause/unpause/penalty: extensions it may act on, and the queues on their PBX where the action
   * can be applied (no queue permission is needed for these).
   */
  actions: Record<QueueAction, { extensions: string[]; queues: string[] }>;
}

function emptyActions(): Capabilities['actions'] {
  return {
    login: { extensions: [], queues: [] },
    logout: { extensions: [], queues: [] },
    pause: { extensions: [], queues: [] },
    unpause: { extensions: [], queues: [] },
    penalty: { extensions: [], queues: [] },
  };
}

/** Extensions (document order) that some grant of u covers for `action`. */
function grantedExtensions(policy: CompiledPolicy, u: UserIndex, action: QueueAction): ExtensionIndex[] {
  const ix = policy.index;
  const ids = new Set<string>();
  for (const s of u.subjectIds) {
    for (const gi of grantsFor(ix, s, action)) {
      for (const t of policy.doc.grants[gi]!.targets) {
        const colon = t.indexOf(':');
        const kind = t.slice(0, colon);
        const id = t.slice(colon + 1);
        if (kind === 'extension') ids.add(id);
        else if (kind === 'user') for (const e of ix.users.get(id)?.user.extensions ?? []) ids.add(e);
        else if (kind === 'group')
          for (const m of ix.groups.get(id)?.members ?? []) for (const e of ix.users.get(m)?.user.extensions ?? []) ids.add(e);
        // queue targets give no extension (grantedQueues reads them)
      }
    }
  }
  const out: ExtensionIndex[] = [];
  for (const e of policy.doc.extensions) if (ids.has(e.id)) out.push(ix.extensions.get(e.id)!);
  return out;
}

/** Queue ids (document order) some grant of u names for `action`. */
function grantedQueues(policy: CompiledPolicy, u: UserIndex, action: QueueAction): Set<string> {
  const out = new Set<string>();
  for (const s of u.subjectIds) {
    for (const gi of grantsFor(policy.index, s, action)) {
      for (const t of policy.doc.grants[gi]!.targets) if (t.startsWith('queue:')) out.add(t.slice(6));
    }
  }
  return out;
}

function sameServer(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/**
 * Capabilities of `userId`. With `ip`, a source address outside the user's allow-list yields no
 * capability at all (as decide would deny everything). An unknown user has none.
 */
export function capabilities(policy: CompiledPolicy, userId: string, ip?: string): Capabilities {
  const u = policy.index.users.get(userId);
  const caps: Capabilities = { user: userId, queueButton: false, actions: emptyActions() };
  if (!u) return caps;
  if (ip !== undefined && !checkIp(u.user.flags.ipAllow, ip)) return caps;
  for (const action of ALL_ACTIONS) {
    const exts = grantedExtensions(policy, u, action).filter(
      (e) => scopeCheck(policy, u, action, e).passed && roleCheck(u, e).passed && (supervisionCheck(u, e)?.passed ?? true),
    );
    const queuePool = action === 'login' || action === 'logout' ? grantedQueues(policy, u, action) : undefined;
    const queues = policy.doc.queues.filter((q) => queuePool === undefined || queuePool.has(q.id));
    const usableQ = queues.filter((q) => exts.some((e) => sameServer(e.ext.server, q.server)));
    // login/logout need a queue on the extension's PBX; pause/unpause/penalty work without naming one.
    const usableExt = queuePool === undefined ? exts : exts.filter((e) => queues.some((q) => sameServer(e.ext.server, q.server)));
    caps.actions[action] = { extensions: usableExt.map((e) => e.ext.id), queues: usableQ.map((q) => q.id) };
    if (caps.actions[action].extensions.length > 0) caps.queueButton = true;
  }
  return caps;
}
