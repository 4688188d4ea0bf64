/**
 * What differs between two policy documents (the config's `directory` and the policy in the Store,
 * or two versions), item by item: per kind, the ids only in `next` (added), only in `base` (removed)
 * and in both but not equal (changed). Used by the start-up warning, `agentgate policy diff`, the
 * import and the SIGHUP reload log. Pure: no I/O.
 *
 * Items are compared as the validated documents hold them (defaults filled in), so `flags: {}` and
 * omitted flags are the same; list order inside an item counts (`groups: [a, b]` ≠ `[b, a]`), the
 * order of items in the document does not.
 */
import type { PolicyDoc } from '../domain/policy/index.js';

export const POLICY_KINDS = ['users', 'groups', 'extensions', 'queues', 'grants'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface KindDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export type PolicyDiff = Record<PolicyKind, KindDiff>;

/** A JSON text with keys sorted, so two equal items compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** `next` compared with `base`: what an import of `next` over `base` adds, removes and changes. */
export function diffPolicies(base: PolicyDoc, next: PolicyDoc): PolicyDiff {
  const out = {} as PolicyDiff;
  for (const kind of POLICY_KINDS) {
    const before = new Map<string, string>((base[kind] as ReadonlyArray<{ id: string }>).map((x) => [x.id, canonicalJson(x)]));
    const after = new Map<string, string>((next[kind] as ReadonlyArray<{ id: string }>).map((x) => [x.id, canonicalJson(x)]));
    out[kind] = {
      added: [...after.keys()].filter((id) => !before.has(id)),
      removed: [...before.keys()].filter((id) => !after.has(id)),
      changed: [...after].filter(([id, j]) => before.has(id) && before.get(id) !== j).map(([id]) => id),
    };
  }
  return out;
}

/** Number of items that differ, per kind and in all. */
function diffCounts(d: PolicyDiff): Record<PolicyKind, number> & { total: number } {
  const counts = { total: 0 } as Record<PolicyKind, number> & { total: number };
  for (const kind of POLICY_KINDS) {
    counts[kind] = d[kind].added.length + d[kind].removed.length + d[kind].changed.length;
    counts.total += counts[kind];
  }
  return counts;
}

export function isEmptyDiff(d: PolicyDiff): boolean {
  return diffCounts(d).total === 0;
}

/**
 * One line for logs and the CLI: `3 grants differ (+1 -1 ~1), 1 user differs (~1)`; kinds without
 * difference are left out. `no difference` when there is none.
 */
export function describeDiff(d: PolicyDiff): string {
  const parts: string[] = [];
  for (const kind of POLICY_KINDS) {
    const k = d[kind];
    const n = k.added.length + k.removed.length + k.changed.length;
    if (n === 0) continue;
    const noun = n === 1 ? kind.slice(0, -1) : kind;
    const detail = [
      k.added.length > 0 ? `+${k.added.length}` : '',
      k.removed.length > 0 ? `-${k.removed.length}` : '',
      k.changed.length > 0 ? `~${k.changed.length}` : '',
    ]
      .filter((s) => s !== '')
      .join(' ');
    parts.push(`${n} ${noun} ${n === 1 ? 'differs' : 'differ'} (${detail})`);
  }
  return parts.length === 0 ? 'no difference' : parts.join(', ');
}

/** Counts for structured log lines: `{ users: { added: 1, removed: 0, changed: 2 }, ... }` (kinds with a difference only). */
export function diffSummary(d: PolicyDiff): Partial<Record<PolicyKind, { added: number; removed: number; changed: number }>> {
  const out: Partial<Record<PolicyKind, { added: number; removed: number; changed: number }>> = {};
  for (const kind of POLICY_KINDS) {
    const k = d[kind];
    if (k.added.length + k.removed.length + k.changed.length > 0)
      out[kind] = { added: k.added.length, removed: k.removed.length, changed: k.changed.length };
  }
  return out;
}
