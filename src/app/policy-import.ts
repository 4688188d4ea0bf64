/**
 * Importing a whole policy document (the config's `directory`, or a `policy export`) into the Store
 * as ONE new version, audited. Two authorities may do it:
 *
 * - a user (`agentgate policy import --as <user>`): the import is the list of changes that turn the
 *   stored policy into the document (`planned` below), each checked by the administration rules of
 *   src/domain/policy/admin.ts exactly as if that user had sent it to `POST /v1/policy/changes`, one
 *   after another; the first refused change refuses the whole import (nothing is stored).
 * - the config file (SIGHUP after its `directory` was edited): whoever may write the config and
 *   signal the daemon already controls it (the config seeded the first policy the same way), so no
 *   administration rule applies; the audit names the file.
 *
 * The stored version must still be the one the import was computed from (compare-and-set in the
 * Store): an instance or admin that changed it meanwhile makes the import fail with
 * AGENTGATE_ERR_POLICY_VERSION rather than silently overwrite that change.
 */
import type { Logger } from 'pino';
import { AgentgateError } from '../errors/codes.js';
import {
  applyChange,
  authorizeChange,
  compilePolicy,
  parsePolicyDoc,
  plainDecision,
  type CompiledPolicy,
  type Decision,
  type Group,
  type PolicyChange,
  type PolicyDoc,
  type User,
} from '../domain/policy/index.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { canonicalJson, diffPolicies, diffSummary, isEmptyDiff, type PolicyDiff } from './policy-diff.js';

export type ImportActor = { kind: 'user'; id: string } | { kind: 'config'; file: string };

export interface ImportResult {
  /** false when the Store already held this document (nothing stored, no audit). */
  changed: boolean;
  from: number;
  version: number;
  diff: PolicyDiff;
  /** The changes an import by a user was checked as (`op id`), in order; empty for the config. */
  changes: string[];
}

/** `add-grant admins`, `put-user alice`: how a change is named in errors, the audit and the CLI. */
function changeLabel(c: PolicyChange): string {
  switch (c.op) {
    case 'add-grant':
      return `add-grant ${c.grant.id}`;
    case 'put-user':
      return `put-user ${c.user.id}`;
    case 'put-group':
      return `put-group ${c.group.id}`;
    case 'put-extension':
      return `put-extension ${c.extension.id}`;
    case 'put-queue':
      return `put-queue ${c.queue.id}`;
    default:
      return `${c.op} ${c.id}`;
  }
}

function byId<T extends { id: string }>(list: readonly T[]): Map<string, T> {
  return new Map(list.map((x) => [x.id, x]));
}

/**
 * Runs the changes that turn `current` into `target`, each authorized for `actor` against the policy
 * as the previous changes left it, and returns their labels. Order (so that every intermediate
 * document is valid): queues and extensions put; groups put with only members that exist yet; users
 * put (groups that exist, extensions nobody else owns yet), then in full; groups in full; grants
 * added (a changed grant: its new form is authorized before the old one is removed, so an admin may
 * edit the grant its own rights come from); grants removed; then users, groups, extensions, queues
 * removed. Throws AGENTGATE_ERR_POLICY_ADMIN (refused, with the change and the failed checks) or
 * AGENTGATE_ERR_VALIDATION.
 */
export function planUserImport(current: CompiledPolicy, target: PolicyDoc, actor: string): string[] {
  let state = current;
  const done: string[] = [];
  const step = (change: PolicyChange, authorizeOn: CompiledPolicy = state): void => {
    const decision: Decision = authorizeChange(authorizeOn, actor, change);
    if (!decision.allowed) {
      const failed = decision.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      throw new AgentgateError('AGENTGATE_ERR_POLICY_ADMIN', {
        detail: `${changeLabel(change)}: ${failed.join('; ')}`,
        decision: plainDecision(decision),
        change: changeLabel(change),
      });
    }
    applyStep(change);
  };
  const applyStep = (change: PolicyChange): void => {
    const r = applyChange(state.doc, change);
    if (!r.ok) {
      const e = r.errors[0]!;
      throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: changeLabel(change), detail: `${e.path}: ${e.message}` });
    }
    state = compilePolicy(r.doc, state.version);
    done.push(changeLabel(change));
  };
  const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

  const d = diffPolicies(current.doc, target);
  const t = {
    users: byId(target.users),
    groups: byId(target.groups),
    extensions: byId(target.extensions),
    queues: byId(target.queues),
    grants: byId(target.grants),
  };
  for (const id of [...d.queues.added, ...d.queues.changed]) step({ op: 'put-queue', queue: t.queues.get(id)! });
  for (const id of [...d.extensions.added, ...d.extensions.changed]) step({ op: 'put-extension', extension: t.extensions.get(id)! });

  const groupIds = [...d.groups.added, ...d.groups.changed];
  for (const id of groupIds) {
    const g = t.groups.get(id)!;
    const exists = (u: string): boolean => state.index.users.has(u);
    const partial: Group = { ...g, members: g.members.filter(exists), supervisors: g.supervisors.filter(exists) };
    step({ op: 'put-group', group: partial });
  }
  const userIds = [...d.users.added, ...d.users.changed];
  for (const id of userIds) {
    const u = t.users.get(id)!;
    const ownedByOther = (e: string): boolean => {
      const owner = state.index.extensions.get(e)?.owner;
      return owner !== undefined && owner.user.id !== id;
    };
    const partial: User = {
      ...u,
      groups: u.groups.filter((g) => state.index.groups.has(g)),
      extensions: u.extensions.filter((e) => !ownedByOther(e)),
    };
    step({ op: 'put-user', user: partial });
  }
  for (const id of userIds) {
    const u = t.users.get(id)!;
    if (
      !same(
        state.doc.users.find((x) => x.id === id),
        u,
      )
    )
      step({ op: 'put-user', user: u });
  }
  for (const id of groupIds) {
    const g = t.groups.get(id)!;
    if (
      !same(
        state.doc.groups.find((x) => x.id === id),
        g,
      )
    )
      step({ op: 'put-group', group: g });
  }

  for (const id of d.grants.added) step({ op: 'add-grant', grant: t.grants.get(id)! });
  for (const id of d.grants.changed) {
    const before = state;
    step({ op: 'remove-grant', id });
    step({ op: 'add-grant', grant: t.grants.get(id)! }, before);
  }
  for (const id of d.grants.removed) step({ op: 'remove-grant', id });
  for (const id of d.users.removed) step({ op: 'remove-user', id });
  for (const id of d.groups.removed) step({ op: 'remove-group', id });
  for (const id of d.extensions.removed) step({ op: 'remove-extension', id });
  for (const id of d.queues.removed) step({ op: 'remove-queue', id });

  // A guard, not a rule: the changes above must produce the document (else a planning bug).
  if (!isEmptyDiff(diffPolicies(state.doc, target))) {
    throw new AgentgateError('AGENTGATE_ERR_CONFLICT', {
      detail: 'the import could not be expressed as policy changes (please report this); nothing was stored',
    });
  }
  return done;
}

export interface ImportDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
}

/**
 * Imports `target` (already validated) over the policy stored now. `expectedVersion`, when given,
 * is the version the caller computed against (the daemon's policy in force): a Store that moved
 * on refuses the import. Returns without storing anything when the Store already holds the document.
 */
export async function importPolicy(deps: ImportDeps, target: PolicyDoc, actor: ImportActor): Promise<ImportResult> {
  const stored = await deps.store.getPolicy();
  if (stored === null) {
    if (actor.kind === 'user')
      throw new AgentgateError('AGENTGATE_ERR_NOT_FOUND', {
        what: 'a policy in the Store (start the daemon once: its config seeds the Store)',
      });
  }
  let current: CompiledPolicy;
  if (stored === null) current = compilePolicy({ users: [], groups: [], extensions: [], queues: [], grants: [] }, 0);
  else {
    const parsed = parsePolicyDoc(stored.doc);
    // An invalid stored document can only be replaced wholesale, by the config's authority.
    if (!parsed.ok && actor.kind === 'user') {
      throw new AgentgateError('AGENTGATE_ERR_CONFLICT', {
        detail: `the policy in the Store (version ${stored.version}) is invalid (${parsed.errors[0]!.path}: ${parsed.errors[0]!.message}); reload the config (SIGHUP) to replace it`,
      });
    }
    current = compilePolicy(parsed.ok ? parsed.value : { users: [], groups: [], extensions: [], queues: [], grants: [] }, stored.version);
  }
  const diff = diffPolicies(current.doc, target);
  if (stored !== null && isEmptyDiff(diff)) return { changed: false, from: stored.version, version: stored.version, diff, changes: [] };

  let changes: string[] = [];
  if (actor.kind === 'user') {
    try {
      changes = planUserImport(current, target, actor.id);
    } catch (err) {
      // Refused imports are audited like refused API changes (best effort: a 403 stays a 403).
      if (err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_POLICY_ADMIN') {
        await deps.store
          .appendAudit({
            kind: 'policy-change',
            at: deps.clock.now(),
            actor: actor.id,
            action: 'import',
            result: 'denied',
            detail: {
              source: 'cli',
              from: current.version,
              summary: diffSummary(diff),
              refused: err.details.change,
              decision: err.details.decision,
            },
          })
          .catch((e: unknown) => deps.logger.warn({ err: e, actor: actor.id }, 'could not audit a refused policy import'));
      }
      throw err;
    }
  }
  const put = await deps.store.putPolicy(current.version, target);
  if (!put.ok) throw new AgentgateError('AGENTGATE_ERR_POLICY_VERSION', { expected: current.version, actual: put.version });
  const auditActor = actor.kind === 'user' ? actor.id : 'config';
  const detail = {
    source: actor.kind === 'user' ? 'cli' : 'config-file',
    ...(actor.kind === 'config' ? { file: actor.file } : {}),
    from: current.version,
    version: put.version,
    summary: diffSummary(diff),
    diff,
    changes,
  };
  // The import is stored: report it as done even if its audit record cannot be written now.
  await deps.store
    .appendAudit({ kind: 'policy-change', at: deps.clock.now(), actor: auditActor, action: 'import', result: 'ok', detail })
    .catch((err: unknown) =>
      deps.logger.error({ err, actor: auditActor, version: put.version }, 'policy imported but its audit record could not be written'),
    );
  return { changed: true, from: current.version, version: put.version, diff, changes };
}
