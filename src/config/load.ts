/**
 * Load and validate the agentgate configuration once, at start-up. Every problem is reported with
 * the path of the bad field (`servers[0].ari.url: must match ...`); the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { ConfigSchema, type ConfigShape } from './schema.js';
import { parsePolicyDoc, type PolicyDoc } from '../domain/policy/index.js';
import { resolveConfigValues, type Env } from './resolve.js';

export interface ConfigIssue {
  path: string;
  message: string;
}

export type Config = Readonly<Omit<ConfigShape, 'directory' | 'instance'>> & {
  /** `idFromHost`: the id was not configured and comes from the host name (said in conflict errors). */
  readonly instance: { readonly id: string; readonly leaseTtlMs: number; readonly idFromHost: boolean };
  readonly directory: PolicyDoc;
};

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super(`${source}: ${issues.length} configuration error(s)\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** JSON pointer `/servers/0/ari/url` → `servers[0].ari.url`. */
export function pointerToPath(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

/** Validate an already-parsed object (from YAML or built in code, e.g. by the demo). */
export function validateConfig(raw: unknown, source = 'config'): Config {
  const issues: ConfigIssue[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '(root)', message: 'must be a mapping with servers and directory' }]);
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw)) as ConfigShape;
  for (const err of Value.Errors(ConfigSchema, withDefaults)) {
    const path = pointerToPath(err.path);
    // Union errors repeat once per branch: keep the first per path.
    if (!issues.some((i) => i.path === path)) issues.push({ path, message: err.message });
  }
  if ((withDefaults as { directory?: unknown }).directory === undefined) {
    issues.push({ path: 'directory', message: 'is required (users, groups, extensions, queues, grants)' });
  }
  let directory: PolicyDoc | undefined;
  if ((withDefaults as { directory?: unknown }).directory !== undefined) {
    const parsed = parsePolicyDoc(withDefaults.directory);
    if (parsed.ok) directory = parsed.value;
    else for (const e of parsed.errors) issues.push({ path: `directory.${e.path}`.replace(/\.\[/g, '['), message: e.message });
  }
  if (issues.length === 0) {
    const names = new Set<string>();
    withDefaults.servers.forEach((s, i) => {
      if (names.has(s.name)) issues.push({ path: `servers[${i}].name`, message: `duplicate server name '${s.name}'` });
      names.add(s.name);
      if (!s.ari && !s.ami) issues.push({ path: `servers[${i}]`, message: 'needs ari, ami or both' });
    });
    const known = (server: string | undefined) => server === undefined || names.has(server);
    directory?.extensions.forEach((e, i) => {
      if (!known(e.server)) issues.push({ path: `directory.extensions[${i}].server`, message: `unknown server '${e.server}'` });
    });
    directory?.queues.forEach((q, i) => {
      if (!known(q.server)) issues.push({ path: `directory.queues[${i}].server`, message: `unknown server '${q.server}'` });
    });
    withDefaults.tokens.forEach((t, i) => {
      if (directory && !directory.users.some((u) => u.id === t.user)) {
        issues.push({ path: `tokens[${i}].user`, message: `unknown user '${t.user}'` });
      }
    });
  }
  if (issues.length > 0 || !directory) throw new ConfigError(source, issues);
  const configured = withDefaults.instance.id;
  const instance = {
    id: configured ?? defaultInstanceId(hostname()),
    leaseTtlMs: withDefaults.instance.leaseTtlMs,
    idFromHost: configured === undefined,
  };
  return deepFreeze({ ...withDefaults, instance, directory }) as Config;
}

/**
 * The instance id when none is configured: the host name, so that a daemon restarted on the same
 * host (after a crash, with no clean stop) is the same instance and cleans up what it owned. Two
 * daemons on one host with this default are refused at start by the heartbeat (src/app/instance-heartbeat.ts).
 */
export function defaultInstanceId(host: string): string {
  const id = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return id === '' ? 'agentgate' : id;
}

/** Parse YAML text (YAML syntax errors are reported with line and column) into a plain value. */
function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  try {
    // yaml refuses to expand more than maxAliasCount aliases (a "billion laughs" document would
    // otherwise take all memory); that and any other conversion error is a config error, not a crash.
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigError(source, [
      {
        path: '(yaml)',
        message: /alias/i.test(message) ? `too many YAML aliases (more than ${MAX_ALIAS_COUNT} expansions): ${message}` : message,
      },
    ]);
  }
}

/** Aliases a config may expand; a real config uses a handful (anchors for shared flags). */
const MAX_ALIAS_COUNT = 100;

export interface ParseOptions {
  /** For `${VAR}` and AGENTGATE_LOG_LEVEL; default process.env. */
  env?: Env;
  /** Where relative `*_file` paths start; default the current directory. */
  baseDir?: string;
}

/** Parse YAML text, resolve `${VAR}` / `*_file` secrets (src/config/resolve.ts), then validate. */
export function parseConfigText(text: string, source = 'config', opts: ParseOptions = {}): Config {
  const raw = parseYaml(text, source);
  const resolved = resolveConfigValues(raw, { env: opts.env ?? process.env, baseDir: opts.baseDir ?? process.cwd() });
  if (resolved.issues.length > 0) throw new ConfigError(source, resolved.issues);
  return validateConfig(resolved.value, source);
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
}

export function loadConfigFile(file: string, env: Env = process.env): Config {
  return parseConfigText(readConfigText(file), file, { env, baseDir: dirname(file) });
}

/**
 * Only the `directory` of a config file, validated (for commands that need the users but not the
 * servers' secrets, e.g. `agentgate token create`): other keys are neither read nor resolved.
 */
export function loadDirectoryFile(file: string): PolicyDoc {
  const root = parseYaml(readConfigText(file), file);
  const directory =
    root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>).directory : undefined;
  if (directory === undefined)
    throw new ConfigError(file, [{ path: 'directory', message: 'is required (users, groups, extensions, queues, grants)' }]);
  const parsed = parsePolicyDoc(directory);
  if (!parsed.ok)
    throw new ConfigError(
      file,
      parsed.errors.map((e) => ({ path: `directory.${e.path}`.replace(/\.\[/g, '['), message: e.message })),
    );
  return parsed.value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
