/**
 * What the YAML says before it is validated, resolved against the environment:
 * - `${VAR}` and `${VAR:-default}` in every string value (an unset VAR without a default is an error
 *   naming the field and the variable; `:-` also applies when VAR is empty, as in the shell);
 *   `$${` is a literal `${`;
 * - `password_file`, `secret_file`, `url_file` beside the secret fields (docker / Kubernetes secrets
 *   mounted as files): the file's content, without its trailing newline, becomes the value;
 * - env AGENTGATE_LOG_LEVEL overrides `log.level` (systemd Environment=, `docker run -e`);
 * - a top-level key left empty (`tokens:` with only comments under it) takes its default.
 * Values are never copied into error messages: a secret must not reach a terminal or a log.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { ConfigIssue } from './load.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ResolveOptions {
  env: Env;
  /** Relative `*_file` paths are read from here (the config file's folder). */
  baseDir: string;
}

/** Fields that may instead be read from a file: `<field>_file` in the same mapping. */
const FILE_FIELDS: ReadonlyArray<{ at: (root: Record<string, unknown>) => Array<[string, unknown]>; field: string }> = [
  { at: (r) => list(r.servers).map((s, i) => [`servers[${i}].ari`, mapping(s)?.ari]), field: 'password' },
  { at: (r) => list(r.servers).map((s, i) => [`servers[${i}].ami`, mapping(s)?.ami]), field: 'secret' },
  // A Redis URL may carry the password (redis://:password@host).
  { at: (r) => [['store.redis', mapping(r.store)?.redis]], field: 'url' },
];

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

// `$${` (escaped), or `${` followed by the rest of a reference: NAME, NAME:-default, then `}`.
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

/** Resolve `raw` (the parsed YAML) in place of a copy; returns the copy and every problem found. */
export function resolveConfigValues(raw: unknown, opts: ResolveOptions): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const value = expand(raw, '', opts.env, issues);
  const root = mapping(value);
  if (root) {
    // A top-level key with nothing under it (`tokens:` followed only by comments) takes its default.
    for (const [k, v] of Object.entries(root)) if (v === null) delete root[k];
    for (const { at, field } of FILE_FIELDS) {
      for (const [path, m] of at(root)) readFileField(mapping(m), path, field, opts.baseDir, issues);
    }
    const level = opts.env.AGENTGATE_LOG_LEVEL;
    if (level !== undefined && level !== '') {
      if ((LOG_LEVELS as readonly string[]).includes(level)) root.log = { ...(mapping(root.log) ?? {}), level };
      else issues.push({ path: 'log.level', message: `env AGENTGATE_LOG_LEVEL='${level}' is not one of ${LOG_LEVELS.join(', ')}` });
    }
  }
  return { value, issues };
}

function expand(node: unknown, path: string, env: Env, issues: ConfigIssue[]): unknown {
  if (typeof node === 'string') return expandString(node, path, env, issues);
  if (Array.isArray(node)) return node.map((v, i) => expand(v, `${path}[${i}]`, env, issues));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = expand(v, path === '' ? k : `${path}.${k}`, env, issues);
    return out;
  }
  return node;
}

function expandString(s: string, path: string, env: Env, issues: ConfigIssue[]): string {
  if (!s.includes('${')) return s;
  return s.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      issues.push({ path, message: 'has a ${ that is not ${VAR} or ${VAR:-default} (write $${ for a literal ${)' });
      return match;
    }
    const v = env[name];
    if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
    if (v === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
      return '';
    }
    return v;
  });
}

function readFileField(m: Record<string, unknown> | undefined, path: string, field: string, baseDir: string, issues: ConfigIssue[]): void {
  const key = `${field}_file`;
  if (m === undefined || !(key in m)) return;
  const file = m[key];
  delete m[key];
  if (typeof file !== 'string' || file === '') {
    issues.push({ path: `${path}.${key}`, message: 'must be a file path' });
    return;
  }
  if (field in m) {
    issues.push({ path: `${path}.${key}`, message: `give ${field} or ${key}, not both` });
    return;
  }
  const full = isAbsolute(file) ? file : resolvePath(baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    issues.push({
      path: `${path}.${key}`,
      message: `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    });
    return;
  }
  // `echo secret > file` and most secret stores end the file with a newline that is not part of it.
  const v = text.replace(/(\r?\n)+$/, '');
  if (v === '') issues.push({ path: `${path}.${key}`, message: `${full} is empty` });
  else m[field] = v;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function mapping(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
