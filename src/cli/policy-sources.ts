/**
 * Where the command line finds a policy: the config file's `directory`, and the policy in force in
 * the Store the config names (`store.redis`). Only those two parts of the config are read and
 * resolved (`${VAR}`, `url_file`): the ARI and AMI secrets need not be in the environment of an
 * admin who runs `agentgate explain` or `agentgate policy diff`.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { createRedisStore } from '../adapters/store/redis.js';
import { ConfigError, pointerToPath, type ConfigIssue } from '../config/load.js';
import { resolveConfigValues } from '../config/resolve.js';
import { ConfigSchema } from '../config/schema.js';
import { parsePolicyDoc, type PolicyDoc } from '../domain/policy/index.js';
import { systemClock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';

export interface RedisLocation {
  url: string;
  prefix: string;
  tenant: string;
}

export interface ConfigPolicyParts {
  directory: PolicyDoc;
  /** Absent: the config keeps state in memory (the policy then lives in the daemon only). */
  redis?: RedisLocation;
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw new ConfigError(file, [{ path: '(yaml)', message: (err as Error).message }]);
  }
}

/** A policy document from `file`: its `directory` key (a config, or a `policy export`). */
export function readPolicyParts(file: string, env: Readonly<Record<string, string | undefined>> = process.env): ConfigPolicyParts {
  const raw = readYaml(file);
  const root = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  if (root?.directory === undefined)
    throw new ConfigError(file, [{ path: 'directory', message: 'is required (users, groups, extensions, queues, grants)' }]);
  const resolved = resolveConfigValues(
    { directory: root.directory, ...(root.store === undefined || root.store === null ? {} : { store: root.store }) },
    { env, baseDir: dirname(file) },
  );
  const issues: ConfigIssue[] = resolved.issues.filter((i) => i.path.startsWith('directory') || i.path.startsWith('store'));
  if (issues.length > 0) throw new ConfigError(file, issues);
  const value = resolved.value as { directory: unknown; store?: unknown };
  const parsed = parsePolicyDoc(value.directory);
  if (!parsed.ok)
    throw new ConfigError(
      file,
      parsed.errors.map((e) => ({ path: `directory.${e.path}`.replace(/\.\[/g, '['), message: e.message })),
    );
  const out: ConfigPolicyParts = { directory: parsed.value };
  if (value.store !== undefined) {
    const schema = ConfigSchema.properties.store;
    const store = Value.Default(schema, structuredClone(value.store)) as { redis?: RedisLocation };
    const errors = [...Value.Errors(schema, store)].map((e) => ({
      path: `store${pointerToPath(e.path) === '(root)' ? '' : `.${pointerToPath(e.path)}`}`,
      message: e.message,
    }));
    if (errors.length > 0) throw new ConfigError(file, errors);
    if (store.redis) out.redis = { url: store.redis.url, prefix: store.redis.prefix, tenant: store.redis.tenant };
  }
  return out;
}

/** `redis://127.0.0.1:6379 (prefix agentgate, tenant default)`, without a password. */
export function describeRedis(r: RedisLocation): string {
  return `${r.url.replace(/\/\/[^@/]*@/, '//***@')} (prefix ${r.prefix}, tenant ${r.tenant})`;
}

/** The Store the config names. Throws AGENTGATE_ERR_STORE when Redis does not answer. */
export function openStore(r: RedisLocation): Promise<Store> {
  return createRedisStore({ url: r.url, prefix: r.prefix, tenant: r.tenant, clock: systemClock() });
}

export type StoredPolicy = { version: number; doc: PolicyDoc } | { version: number; invalid: string } | null;

/** The policy in the Store, validated; null when none is stored yet. */
export async function readStoredPolicy(store: Store): Promise<StoredPolicy> {
  const p = await store.getPolicy();
  if (p === null) return null;
  const parsed = parsePolicyDoc(p.doc);
  if (!parsed.ok) return { version: p.version, invalid: `${parsed.errors[0]!.path}: ${parsed.errors[0]!.message}` };
  return { version: p.version, doc: parsed.value };
}
