/**
 * `agentgate token create`: the first admin's token without a running daemon and without hashing by
 * hand. The printed line, pasted under `tokens:`, is a valid config entry for that token.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../../src/app/tokens.js';
import { main } from '../../src/cli/main.js';
import { parseConfigText } from '../../src/config/load.js';
import { captureOutput, pasteToken } from '../support/cli.js';

const EXAMPLE = 'agentgate.example.yaml';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('agentgate token create', () => {
  it('prints the token once and the config line with its sha-256; pasted, the config carries it', async () => {
    const io = captureOutput();
    expect(await main(['token', 'create', '--user', 'olivia', '--label', 'first admin', '-c', EXAMPLE])).toBe(0);
    const [token, ...rest] = io.out().split('\n');
    expect(token).toMatch(/^agt_[A-Za-z0-9_-]{32}$/);
    const line = rest.find((l) => l.trimStart().startsWith('- {'))!;
    expect(line).toBe(`  - { user: olivia, sha256: ${sha256(token!)}, label: first admin }`);
    expect(io.out().split(token!)).toHaveLength(2); // shown once

    const cfg = parseConfigText(pasteToken(readFileSync(EXAMPLE, 'utf8'), line), EXAMPLE);
    expect(cfg.tokens).toEqual([{ user: 'olivia', sha256: sha256(token!), label: 'first admin' }]);
  });

  it('quotes a label YAML would misread', async () => {
    const io = captureOutput();
    expect(await main(['token', 'create', '--user', 'sam', '--label', 'night: shift #2'])).toBe(0);
    const line = io
      .out()
      .split('\n')
      .find((l) => l.trimStart().startsWith('- {'))!;
    const cfg = parseConfigText(pasteToken(readFileSync(EXAMPLE, 'utf8'), line), EXAMPLE);
    expect(cfg.tokens[0]?.label).toBe('night: shift #2');
  });

  it('refuses a user the config does not know (exit 1), naming the users it has', async () => {
    const io = captureOutput();
    expect(await main(['token', 'create', '--user', 'zed', '-c', EXAMPLE])).toBe(1);
    expect(io.err()).toContain("no user 'zed' in agentgate.example.yaml (directory.users: alice, bob, sam, olivia)");
    expect(io.out()).toBe('');
    vi.stubEnv('AGENTGATE_CONFIG', EXAMPLE);
    expect(await main(['token', 'create', '--user', 'zed'])).toBe(1);
  });

  it('usage errors exit 2: no subcommand, no --user, a bad user id', async () => {
    const io = captureOutput();
    expect(await main(['token'])).toBe(2);
    expect(await main(['token', 'create'])).toBe(2);
    expect(io.err()).toContain('--user is required');
    expect(await main(['token', 'create', '--user', 'a b'])).toBe(2);
    expect(io.out()).toBe('');
  });
});
