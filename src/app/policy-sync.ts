/**
 * The one source of truth for the policy is the Store (versioned): the config's `directory` seeds it
 * when the Store holds none, and after that only changes that are themselves versioned and audited
 * reach it — `POST /v1/policy/changes`, `agentgate policy import --as <user>`, and a reload (SIGHUP)
 * after the config's directory was edited (src/app/policy-import.ts). A (re)start never changes the
 * stored policy: a restart happens on its own (crash, upgrade, another host with an older copy of the
 * file), so it only warns when the file and the Store differ.
 *
 * Every instance follows the Store: a poll installs a newer version, and also an older one (Redis
 * restarted empty and another instance wrote its policy back, or an admin restored a backup), so all
 * instances decide from the same document. A Store that lost the policy gets it back from the
 * instance that notices first, at the version in force (versions never go back).
 */
import type { Logger } from 'pino';
import { parsePolicyDoc, type CompiledPolicy, type PolicyDoc } from '../domain/policy/index.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { createPolicyHolder, type PolicyHolder } from './policy-holder.js';
import { canonicalJson, describeDiff, diffPolicies, diffSummary, isEmptyDiff, type PolicyDiff } from './policy-diff.js';
import { importPolicy } from './policy-import.js';

export interface PolicySyncDeps {
  store: Store;
  clock: Clock;
  /** The daemon's logger (component daemon). */
  logger: Logger;
  /** The config file, for messages that tell the admin what to run (`-c <file>`). */
  configFile?: string;
}

function diffHint(configFile: string | undefined): string {
  return `agentgate policy diff -c ${configFile ?? '<config file>'}`;
}

/** Logs, at warn, that the config's directory is not the policy in force, and how to see the difference. */
function warnDiffer(deps: PolicySyncDeps, diff: PolicyDiff, version: number): void {
  deps.logger.warn(
    { version, differ: diffSummary(diff), configFile: deps.configFile },
    `the config's directory differs from the policy in force (Store version ${version}): ${describeDiff(diff)}; the Store's policy applies. ` +
      `Run ${diffHint(deps.configFile)} to see it; apply the file with agentgate policy import --as <administrator>, or edit it and reload (SIGHUP)`,
  );
}

/**
 * The policy in force at start: the Store's, or the config's directory stored as version 1 when the
 * Store holds none. A stored document that is invalid is not used (the directory is, at the stored
 * version, so that the next change or reload replaces it).
 */
export async function loadPolicy(directory: PolicyDoc, deps: PolicySyncDeps): Promise<PolicyHolder> {
  const log = deps.logger;
  const stored = await deps.store.getPolicy();
  if (stored === null) {
    const put = await deps.store.putPolicy(0, directory);
    if (!put.ok) return loadPolicy(directory, deps); // another instance seeded it first
    log.info({ version: put.version }, 'policy seeded from the config directory');
    return createPolicyHolder(directory, put.version);
  }
  const parsed = parsePolicyDoc(stored.doc);
  if (!parsed.ok) {
    log.error(
      { version: stored.version, errors: parsed.errors.slice(0, 5) },
      'policy in the Store is invalid; using the config directory until a change or a reload (SIGHUP) replaces it',
    );
    return createPolicyHolder(directory, stored.version);
  }
  log.info({ version: stored.version }, 'policy loaded from the Store');
  const diff = diffPolicies(parsed.value, directory);
  if (!isEmptyDiff(diff)) warnDiffer(deps, diff, stored.version);
  return createPolicyHolder(parsed.value, stored.version);
}

export interface PolicySync {
  /** One poll now (the timer calls it every pollMs). Never rejects: failures are logged. */
  syncNow(): Promise<void>;
  stop(): void;
}

/** Follows the Store every `pollMs`; writes the policy in force back when the Store lost it. */
export function startPolicySync(deps: PolicySyncDeps & { policy: PolicyHolder; pollMs: number }): PolicySync {
  const log = deps.logger;
  const { policy, store } = deps;
  // The canonical text of the policy in force, computed once per installed version.
  let heldFor: CompiledPolicy | undefined;
  let heldJson = '';
  const held = (): string => {
    const c = policy.current();
    if (c !== heldFor) {
      heldFor = c;
      heldJson = canonicalJson(c.doc);
    }
    return heldJson;
  };
  // The stored text last found invalid or installed, so an unchanged Store is not re-read every poll.
  let seenJson: string | undefined;
  let running: Promise<void> | undefined;

  const once = async (): Promise<void> => {
    const p = await store.getPolicy();
    const current = policy.current();
    if (p === null) {
      const r = await store.restorePolicy(current.version, current.doc);
      if (r.ok) {
        log.warn(
          { version: current.version },
          `the Store had lost the policy (Redis restarted empty?): wrote the policy in force back, as version ${current.version}`,
        );
      }
      // Else another instance wrote its own back first: the next poll follows it.
      return;
    }
    if (p.version === current.version) {
      const text = canonicalJson(p.doc);
      if (text === held() || text === seenJson) return;
      seenJson = text;
    } else seenJson = undefined;
    const parsed = parsePolicyDoc(p.doc);
    if (!parsed.ok) {
      seenJson = canonicalJson(p.doc);
      log.error({ version: p.version, errors: parsed.errors.slice(0, 5) }, 'the policy in the Store is invalid; keeping the current one');
      return;
    }
    const diff = diffPolicies(current.doc, parsed.value);
    if (p.version > current.version) {
      policy.replace(parsed.value, p.version);
      log.info({ version: p.version, from: current.version, changed: diffSummary(diff) }, 'policy updated from the Store');
    } else {
      policy.adopt(parsed.value, p.version);
      log.warn(
        { version: p.version, from: current.version, changed: diffSummary(diff) },
        p.version < current.version
          ? `the policy in the Store went back from version ${current.version} to ${p.version} (a restored backup, or Redis restarted empty and another instance wrote back an older policy): following the Store`
          : `the policy in the Store differs from the one in force at the same version ${p.version}: following the Store`,
      );
    }
  };

  const syncNow = (): Promise<void> => {
    // One poll at a time: a slow Store must not stack reads.
    running ??= once()
      .catch((err: unknown) => log.warn({ err }, 'policy poll failed'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    syncNow().catch(() => undefined);
  }, deps.pollMs);
  timer.unref();
  return { syncNow, stop: () => clearInterval(timer) };
}

export interface DirectoryReload {
  /** The file's directory differs from the one read at start or at the previous reload. */
  fileChanged: boolean;
  /** A new version was stored (the file's directory was imported). */
  imported: boolean;
  version: number;
  /** What the import changed in the policy in force (empty when nothing was imported). */
  diff: PolicyDiff;
}

/**
 * The directory part of a reload (SIGHUP): when the file's directory changed since it was last read,
 * it is imported as a new version with the config file's authority (audited as actor `config`) and
 * installed; when it did not change, nothing is stored (changes made through the API stay) and a
 * difference with the Store is only reported. Throws when the Store refuses (the policy in force stays).
 */
export async function reloadDirectory(
  deps: PolicySyncDeps & { policy: PolicyHolder },
  previous: PolicyDoc,
  next: PolicyDoc,
): Promise<DirectoryReload> {
  const log = deps.logger;
  const current = deps.policy.current();
  const fileChanged = !isEmptyDiff(diffPolicies(previous, next));
  if (!fileChanged) {
    const diff = diffPolicies(current.doc, next);
    if (!isEmptyDiff(diff)) warnDiffer(deps, diff, current.version);
    return { fileChanged, imported: false, version: current.version, diff: diffPolicies(current.doc, current.doc) };
  }
  const r = await importPolicy({ store: deps.store, clock: deps.clock, logger: log }, next, {
    kind: 'config',
    file: deps.configFile ?? 'config',
  });
  // Imported, or already in the Store (another instance reloaded the same file first): in force now.
  deps.policy.adopt(next, r.version);
  return { fileChanged, imported: r.changed, version: r.version, diff: r.changed ? r.diff : diffPolicies(current.doc, next) };
}
