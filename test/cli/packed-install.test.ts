/**
 * The package as an admin installs it: `npm pack`, then `npm install <tarball>` in an empty folder
 * (production dependencies only), then the CLI through node_modules/.bin/agentgate — the symlink
 * npx and npm scripts run. One test, bounded: the install may fetch production dependencies from the
 * registry (the local npm cache usually has them).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const exec = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'agentgate-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** npm as a user runs it: without the npm_* settings of the `npm test` that started vitest. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_ENV' && k !== 'VITEST') env[k] = v;
  return env;
}

async function bin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(join(scratch, 'node_modules/.bin/agentgate'), args, { cwd: scratch, env: cleanEnv(), timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the packed package', () => {
  it('installs with production dependencies only and runs through node_modules/.bin/agentgate', { timeout: 180_000 }, async () => {
    // `npm pack` runs `prepare` (the build), so the tarball holds what this checkout compiles to.
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT, env: cleanEnv(), timeout: 90_000 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = info!.files.map((f) => f.path);
    expect(files).toContain('dist/cli/bin.js');
    expect(files).toContain('dist/sim/ari/api-docs/resources.json');
    expect(files).toContain('agentgate.example.yaml');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
    await exec('npm', ['install', join(scratch, info!.filename), '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: scratch,
      env: cleanEnv(),
      timeout: 120_000,
    });
    for (const dev of ['tsx', 'typescript', 'vitest', 'esbuild'])
      expect(existsSync(join(scratch, 'node_modules', dev)), `${dev} installed`).toBe(false);

    const help = await bin(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: agentgate <command>');

    const unknown = await bin(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");

    const example = join(scratch, 'node_modules/agentgate/agentgate.example.yaml');
    const check = await bin(['check-config', '-c', example]);
    expect(check.stdout + check.stderr).toMatch(/agentgate\.example\.yaml: ok/);
    expect(check.code).toBe(0);

    const token = await bin(['token', 'create', '--user', 'olivia', '-c', example]);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^agt_\S+\n/);

    // The simulator serves its api-docs from the package: the JSON files must have been packed.
    const sim = spawn(join(scratch, 'node_modules/.bin/agentgate'), ['sim', '--ari-port', '0', '--ami-port', '0'], {
      cwd: scratch,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      sim.stdout.on('data', (b: Buffer) => (out += b.toString()));
      sim.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no simulator URL in:\n${out}`)), 20_000);
        sim.stdout.on('data', () => {
          const m = /ARI {2}(http:\/\/\S+)\/ari/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const res = await fetch(`${url}/ari/api-docs/resources.json`, {
        headers: { Authorization: `Basic ${Buffer.from('agentgate:secret').toString('base64')}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { apis: unknown[] }).apis.length).toBeGreaterThan(5);
    } finally {
      const exited = new Promise((r) => sim.once('exit', r));
      sim.kill('SIGTERM');
      await exited;
    }
  });
});
