/**
 * The README's first run, command by command, as separate processes against the simulator
 * (`agentgate sim`) and Redis: token create → paste the line → check-config → run → the token works
 * (GET /v1/me/capabilities) → an allowed queue login (POST /v1/queue/login). The config is the example
 * with only what the README says to edit for a PBX (here: the simulator's ports) and a test prefix.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/dispatch-harness.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { pasteToken, ROOT, runCli, spawnCli, type CliProcess } from '../support/cli.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

/** Started in the background; stopped with SIGTERM (and awaited) after the test. */
function background(args: string[]): CliProcess {
  const p = spawnCli(args);
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  });
  return p;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const STEPS = [
  'npx agentgate token create --user olivia --label first-admin -c agentgate.yaml',
  'npx agentgate check-config -c agentgate.yaml',
  'npx agentgate run -c agentgate.yaml',
  'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/me/capabilities',
  `curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"extension":"1001","queue":"support"}' http://127.0.0.1:8080/v1/queue/login`,
];

describe('README first run', () => {
  it('the README lists the five commands this test runs', () => {
    for (const step of STEPS) expect(README).toContain(`    ${step}\n`);
  });

  it('from zero to an admin token and an allowed queue login against the simulator', { timeout: 60_000 }, async () => {
    const sim = background(['sim', '--ari-port', '0', '--ami-port', '0']);
    await until(
      () => /AMI {2}127\.0\.0\.1:\d+/.test(sim.output()),
      20_000,
      () => `the simulator to start:\n${sim.output()}`,
    );
    const ariUrl = /ARI {2}(http:\/\/\S+)\/ari/.exec(sim.output())![1]!;
    const amiPort = /AMI {2}127\.0\.0\.1:(\d+)/.exec(sim.output())![1]!;

    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix));
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-first-run-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'agentgate.yaml');
    const example = readFileSync(join(ROOT, 'agentgate.example.yaml'), 'utf8');
    const edited = example
      .replace('url: http://127.0.0.1:8088', `url: ${ariUrl}`)
      .replace('port: 5038', `port: ${amiPort}`)
      .replace('url: redis://127.0.0.1:6379', `url: ${REDIS_URL}`)
      .replace('prefix: agentgate', `prefix: ${prefix}`)
      .replace('port: 8080', 'port: 0');
    expect(edited).not.toBe(example);
    writeFileSync(file, edited);

    // 1. token create, and the printed line pasted under `tokens:`
    const created = await runCli(['token', 'create', '--user', 'olivia', '--label', 'first-admin', '-c', file]);
    expect(created.code, created.output).toBe(0);
    const token = created.output.split('\n')[0]!;
    const line = created.output.split('\n').find((l) => l.trimStart().startsWith('- { user: olivia'))!;
    writeFileSync(file, pasteToken(edited, line));

    // 2. check-config
    const checked = await runCli(['check-config', '-c', file]);
    expect(checked.output).toContain('1 token(s)');
    expect(checked.code).toBe(0);

    // 3. run
    const daemon = background(['run', '-c', file]);
    await until(
      () => daemon.output().includes('HTTP API listening'),
      20_000,
      () => `the daemon to listen:\n${daemon.output()}`,
    );
    const http = (/"url":"(http:\/\/[^"]+)"/.exec(
      daemon
        .output()
        .split('\n')
        .find((l) => l.includes('HTTP API listening'))!,
    ) ?? [])[1]!;
    const auth = { Authorization: `Bearer ${token}` };

    // 4. the token works
    const caps = await fetch(`${http}/v1/me/capabilities`, { headers: auth });
    expect(caps.status).toBe(200);
    expect(JSON.stringify(await caps.json())).toContain('olivia');

    // 5. an allowed queue login
    const login = await fetch(`${http}/v1/queue/login`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ extension: '1001', queue: 'support' }),
    });
    const body = (await login.json()) as { ok?: boolean; decision?: { allowed: boolean }; ami?: { response: string } };
    expect(login.status, JSON.stringify(body)).toBe(200);
    expect(body.decision?.allowed).toBe(true);
    expect(body.ami?.response).toBe('Success');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.output()).not.toContain(token);
  });
});
