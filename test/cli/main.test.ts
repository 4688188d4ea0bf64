/**
 * The command line as a user meets it: usage on --help and on mistakes, exit codes a script can test,
 * flags checked (node:util parseArgs, strict) instead of silently ignored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/cli.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('agentgate command line', () => {
  it('--help prints every command and the environment variables, exit 0', async () => {
    const io = captureOutput();
    expect(await main(['--help'])).toBe(0);
    for (const cmd of ['run', 'check-config', 'token', 'explain', 'demo', 'sim']) expect(io.out()).toContain(`  ${cmd} `);
    expect(io.out()).toContain('AGENTGATE_CONFIG');
    expect(io.out()).toContain('AGENTGATE_LOG_LEVEL');
  });

  it('no command or an unknown command: usage on stderr, exit 2', async () => {
    const io = captureOutput();
    expect(await main([])).toBe(2);
    expect(await main(['frobnicate'])).toBe(2);
    expect(io.err()).toContain("unknown command 'frobnicate'");
    expect(io.err()).toContain('usage: agentgate <command>');
    expect(io.out()).toBe('');
  });

  it("<command> --help prints that command's usage, exit 0, and runs nothing", async () => {
    const io = captureOutput();
    expect(await main(['run', '--help'])).toBe(0);
    expect(io.out()).toContain('usage: agentgate run [-c file.yaml]');
    expect(await main(['token', '-h'])).toBe(0);
    expect(io.out()).toContain('usage: agentgate token create --user <id>');
  });

  it('an unknown flag is a usage error naming it (exit 2), not ignored', async () => {
    const io = captureOutput();
    expect(await main(['check-config', '--confg', 'agentgate.example.yaml'])).toBe(2);
    expect(io.err()).toContain("Unknown option '--confg'");
    expect(io.err()).toContain('usage: agentgate check-config');
    expect(await main(['check-config', '-c'])).toBe(2);
    expect(io.err()).toContain("Option '-c, --config <value>' argument missing");
    expect(await main(['sim', '--ari-port', 'http'])).toBe(2);
    expect(io.err()).toContain("--ari-port: 'http' is not a port number");
  });

  it('check-config takes -c, --config=FILE and AGENTGATE_CONFIG', async () => {
    const io = captureOutput();
    expect(await main(['check-config', '-c', 'agentgate.example.yaml'])).toBe(0);
    expect(await main(['check-config', '--config=agentgate.example.yaml'])).toBe(0);
    vi.stubEnv('AGENTGATE_CONFIG', 'agentgate.example.yaml');
    expect(await main(['check-config'])).toBe(0);
    expect(io.out().match(/agentgate\.example\.yaml: ok/g)).toHaveLength(3);
    vi.stubEnv('AGENTGATE_CONFIG', 'no-such-file.yaml');
    expect(await main(['check-config'])).toBe(1);
    expect(io.err()).toContain('no-such-file.yaml');
  });
});
