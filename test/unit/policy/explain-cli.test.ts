import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../../src/cli/commands/explain.js';
import { fixturePath } from './fixture.js';

let out = '';
let err = '';

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const cfg = ['--config', fixturePath('callcenter.yaml')];

describe('agentgate explain', () => {
  it('exit 0 and the reasons when allowed', async () => {
    expect(await run(['alice', 'login', '1001', 'support', ...cfg])).toBe(0);
    expect(out).toMatch(/^ALLOWED: alice login extension 1001 into queue support/);
    expect(out).toContain('matched grants: agents-self');
  });

  it('exit 1 and the failing half when denied', async () => {
    expect(await run(['night1', 'login', '2001', 'late', ...cfg])).toBe(1);
    expect(out).toMatch(/^DENIED: /);
    expect(out).toContain('✗ queue-grant: no grant lets user:night1 or group:night login queue:late');
  });

  it('checks --ip against the allow-list', async () => {
    expect(await run(['alice', 'pause', '1001', '--ip', '10.0.4.1', ...cfg])).toBe(1);
    expect(out).toContain('✗ ip: 10.0.4.1 is not in');
    expect(await run(['alice', 'pause', '1001', '--ip=10.0.3.4', ...cfg])).toBe(0);
  });

  it('prints JSON with --json', async () => {
    expect(await run(['sam', 'pause', '1003', '--json', ...cfg])).toBe(1);
    const j = JSON.parse(out) as { allowed: boolean; reasons: Array<{ name: string; passed: boolean }> };
    expect(j.allowed).toBe(false);
    expect(j.reasons.filter((r) => !r.passed).map((r) => r.name)).toEqual(['supervision']);
  });

  it('reads AGENTGATE_CONFIG when no --config is given, ignoring other top-level keys', async () => {
    vi.stubEnv('AGENTGATE_CONFIG', fixturePath('callcenter.yaml'));
    expect(await run(['mike', 'pause', '1010'])).toBe(0);
  });

  it('exit 2 on usage errors', async () => {
    expect(await run(['alice', 'login', ...cfg])).toBe(2);
    expect(err).toContain('usage: agentgate explain');
    expect(await run(['alice', 'dance', '1001', ...cfg])).toBe(2);
    expect(err).toContain("unknown action 'dance'");
    expect(await run(['alice', 'pause', '1001', '--ip', 'nope', ...cfg])).toBe(2);
  });

  it('exit 2 on config errors, each named by its path', async () => {
    expect(await run(['zoe', 'login', '1001', '--config', fixturePath('bad-blended.yaml')])).toBe(2);
    expect(err).toContain('directory.users[0].flags.blended');
    expect(err).toContain('directory.grants[0].targets[1]');
    expect(await run(['zoe', 'login', '1001', '--config', fixturePath('missing.yaml')])).toBe(2);
    expect(err).toContain('cannot read');
  });
});
