import { compilePolicy, type CompiledPolicy, type PolicyDoc } from '../domain/policy/index.js';

/**
 * The policy currently in force. Dispatch, queue operations and the HTTP API read it through
 * `current()` on every request, so an admin change (HTTP or a Store update from another instance)
 * applies to the next request without a restart.
 */
export interface PolicyHolder {
  current(): CompiledPolicy;
  /** Installs a new version; ignored when older than the one in force. Listeners run synchronously. */
  replace(doc: PolicyDoc, version: number): CompiledPolicy;
  /**
   * Installs `doc` whatever its version: the Store is the source of truth, also when its version went
   * back (Redis restarted empty and the policy was written back, or an admin restored a backup).
   */
  adopt(doc: PolicyDoc, version: number): CompiledPolicy;
  onChange(listener: (policy: CompiledPolicy) => void): () => void;
}

export function createPolicyHolder(doc: PolicyDoc, version = 0): PolicyHolder {
  let policy = compilePolicy(doc, version);
  const listeners = new Set<(p: CompiledPolicy) => void>();
  return {
    current: () => policy,
    replace(next, nextVersion) {
      if (nextVersion < policy.version) return policy;
      policy = compilePolicy(next, nextVersion);
      for (const l of listeners) l(policy);
      return policy;
    },
    adopt(next, nextVersion) {
      policy = compilePolicy(next, nextVersion);
      for (const l of listeners) l(policy);
      return policy;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
