import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { ConfigError, defaultInstanceId, loadConfigFile, parseConfigText, pointerToPath } from '../../../src/config/load.js';

const example = readFileSync(new URL('../../../agentgate.example.yaml', import.meta.url), 'utf8');

function issuesOf(text: string): Array<{ path: string; message: string }> {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  it('accepts the commented example config and fills defaults', () => {
    const cfg = loadConfigFile(new URL('../../../agentgate.example.yaml', import.meta.url).pathname);
    expect(cfg.servers[0]?.ari?.app).toBe('agentgate');
    expect(cfg.dispatch.answer).toBe('late');
    expect(cfg.directory.users.map((u) => u.id)).toContain('alice');
    expect(Object.isFrozen(cfg.servers)).toBe(true);
  });

  it('accepts the docker config (secrets from the environment, with defaults)', () => {
    const cfg = loadConfigFile(new URL('../../../docker/agentgate.docker.yaml', import.meta.url).pathname, { AMI_SECRET: 'from-env' });
    expect(cfg.servers[0]?.ari?.password).toBe('change-me');
    expect(cfg.servers[0]?.ami?.secret).toBe('from-env');
  });

  it('#12.5: with instance omitted the id is the host name, the same for every process on this host (a restart is the same instance)', () => {
    const text = example.replace(/^instance:\n  id: .*\n(?: {20,}#.*\n)*  leaseTtlMs: \d+.*\n/m, '');
    expect(text).not.toMatch(/^instance:/m);
    const cfg = parseConfigText(text, 'test.yaml');
    expect(cfg.instance).toEqual({ id: defaultInstanceId(hostname()), leaseTtlMs: 6000, idFromHost: true });
    expect(cfg.instance.id).not.toContain(String(process.pid));
    expect(parseConfigText(example, 'test.yaml').instance).toMatchObject({ id: 'agentgate-1', idFromHost: false });
    expect(defaultInstanceId('pbx-host.example.com')).toBe('pbx-host.example.com');
    expect(defaultInstanceId('weird host/名')).toBe('weird-host--');
    expect(defaultInstanceId('')).toBe('agentgate');
  });

  it('names the path of a bad field', () => {
    const issues = issuesOf(example.replace('port: 5038', 'port: seventy'));
    expect(issues.map((i) => i.path)).toContain('servers[0].ami.port');
  });

  it('rejects unknown keys (typos) with their path', () => {
    const issues = issuesOf(example.replace('answer: late', 'answer: late\n  ringTimout: 5'));
    expect(issues.some((i) => i.path.startsWith('dispatch'))).toBe(true);
  });

  it('reports every error at once, not only the first', () => {
    const issues = issuesOf(example.replace('port: 5038', 'port: -1').replace('answer: late', 'answer: sometimes'));
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('servers[0].ami.port');
    expect(paths).toContain('dispatch.answer');
  });

  it('rejects blended without both inbound and outbound, naming the field', () => {
    const issues = issuesOf(
      example.replace('flags: { inbound: true }\n    - id: sam', 'flags: { inbound: true, blended: true }\n    - id: sam'),
    );
    expect(issues.some((i) => i.path.startsWith('directory.users[1].flags'))).toBe(true);
  });

  it('rejects an extension on an unknown server', () => {
    const issues = issuesOf(example.replace('name: Alice desk, server: pbx1', 'name: Alice desk, server: pbx9'));
    expect(issues.map((i) => i.path)).toContain('directory.extensions[0].server');
  });

  it('reports YAML syntax errors with a line', () => {
    const issues = issuesOf('servers:\n  - name: [unclosed\n');
    expect(issues[0]?.path).toMatch(/^line \d+/);
  });

  it('turns JSON pointers into dotted paths', () => {
    expect(pointerToPath('/servers/0/ari/url')).toBe('servers[0].ari.url');
    expect(pointerToPath('')).toBe('(root)');
  });

  it('a YAML alias bomb (billion laughs) is a config error naming the problem, not a crash', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const p = String.fromCharCode(97 + i - 1);
      const n = String.fromCharCode(97 + i);
      levels.push(`${n}: &${n} [*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p}]`);
    }
    let caught: unknown;
    try {
      parseConfigText(levels.join('\n'), 'bomb.yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const issues = (caught as ConfigError).issues;
    expect(issues[0]).toMatchObject({ path: '(yaml)' });
    expect(issues[0]!.message).toMatch(/alias/i);
  });
});
