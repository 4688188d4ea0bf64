/**
 * Secrets and environment in the config: `${VAR}`, `${VAR:-default}`, `*_file`, AGENTGATE_LOG_LEVEL.
 * Errors name the field and the variable or file, never the value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfigText } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yaml(ari: string, ami = 'username: agentgate\n      secret: s3'): string {
  return `servers:
  - name: pbx1
    ari:
      url: http://127.0.0.1:8088
      username: agentgate
      ${ari}
    ami:
      ${ami}
directory:
  users: [{ id: olivia, role: administrator, scope: office_manager }]
`;
}

function issuesOf(text: string, env: Record<string, string>): Array<{ path: string; message: string }> {
  try {
    parseConfigText(text, 'test.yaml', { env, baseDir: dir });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('config: environment variables', () => {
  it('replaces ${VAR} in string values', () => {
    const cfg = parseConfigText(yaml('password: ${ARI_PASSWORD}'), 't', { env: { ARI_PASSWORD: 'from-env' } });
    expect(cfg.servers[0]?.ari?.password).toBe('from-env');
  });

  it('${VAR:-default} uses the default when VAR is unset or empty, VAR otherwise; works inside a string', () => {
    const text = yaml('password: ${ARI_PASSWORD:-fallback}\n      app: app-${SITE:-main}');
    expect(parseConfigText(text, 't', { env: {} }).servers[0]?.ari).toMatchObject({ password: 'fallback', app: 'app-main' });
    expect(parseConfigText(text, 't', { env: { ARI_PASSWORD: '' } }).servers[0]?.ari?.password).toBe('fallback');
    expect(parseConfigText(text, 't', { env: { ARI_PASSWORD: 'set', SITE: 'b' } }).servers[0]?.ari).toMatchObject({
      password: 'set',
      app: 'app-b',
    });
  });

  it('an unset VAR without a default is an error naming the field and the variable', () => {
    const issues = issuesOf(yaml('password: ${ARI_PASSWORD}', 'username: agentgate\n      secret: ${AMI_SECRET}'), {});
    expect(issues).toEqual([
      {
        path: 'servers[0].ari.password',
        message: 'environment variable ARI_PASSWORD is not set (use ${ARI_PASSWORD:-default} for a default)',
      },
      { path: 'servers[0].ami.secret', message: 'environment variable AMI_SECRET is not set (use ${AMI_SECRET:-default} for a default)' },
    ]);
  });

  it('$${ is a literal ${; a malformed reference is an error', () => {
    expect(parseConfigText(yaml('password: a$${b}'), 't', { env: {} }).servers[0]?.ari?.password).toBe('a${b}');
    expect(issuesOf(yaml('password: ${ARI-PASSWORD}'), {}).map((i) => i.path)).toEqual(['servers[0].ari.password']);
  });

  it('AGENTGATE_LOG_LEVEL overrides log.level; a wrong level is a config error', () => {
    expect(parseConfigText(yaml('password: p'), 't', { env: { AGENTGATE_LOG_LEVEL: 'debug' } }).log.level).toBe('debug');
    expect(parseConfigText(`log: { level: warn }\n${yaml('password: p')}`, 't', { env: {} }).log.level).toBe('warn');
    expect(issuesOf(yaml('password: p'), { AGENTGATE_LOG_LEVEL: 'loud' })).toEqual([
      { path: 'log.level', message: "env AGENTGATE_LOG_LEVEL='loud' is not one of trace, debug, info, warn, error" },
    ]);
  });
});

describe('config: *_file secrets', () => {
  it('password_file and secret_file read the value from a file (trailing newline dropped), relative to the config', () => {
    writeFileSync(join(dir, 'ari_password'), 'file-pass\n');
    writeFileSync(join(dir, 'ami_secret'), 'file-secret');
    const file = join(dir, 'agentgate.yaml');
    writeFileSync(file, yaml('password_file: ari_password', `username: agentgate\n      secret_file: ${join(dir, 'ami_secret')}`));
    const cfg = loadConfigFile(file, {});
    expect(cfg.servers[0]?.ari?.password).toBe('file-pass');
    expect(cfg.servers[0]?.ami?.secret).toBe('file-secret');
    expect(JSON.stringify(cfg)).not.toContain('_file');
  });

  it('url_file for the Redis URL; ${VAR} in the path', () => {
    writeFileSync(join(dir, 'redis_url'), 'redis://:pw@127.0.0.1:6379\n');
    const cfg = parseConfigText(`${yaml('password: p')}store:\n  redis:\n    url_file: \${SECRETS}/redis_url\n`, 't', {
      env: { SECRETS: dir },
    });
    expect(cfg.store.redis?.url).toBe('redis://:pw@127.0.0.1:6379');
  });

  it('a missing or empty file, or both forms at once, is an error naming the *_file field', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    expect(issuesOf(yaml('password_file: /no/such/file'), {})).toEqual([
      { path: 'servers[0].ari.password_file', message: 'cannot read /no/such/file: ENOENT' },
    ]);
    expect(issuesOf(yaml('password_file: empty'), {})).toEqual([
      { path: 'servers[0].ari.password_file', message: `${join(dir, 'empty')} is empty` },
    ]);
    expect(issuesOf(yaml('password: p\n      password_file: empty'), {})).toEqual([
      { path: 'servers[0].ari.password_file', message: 'give password or password_file, not both' },
    ]);
  });
});
