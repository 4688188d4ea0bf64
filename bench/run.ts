/**
 * `npm run bench [-- name ...]`: runs each benchmark scenario in its own Node process (so heap
 * figures are not polluted by the others), with --expose-gc, and prints every figure.
 * Scenarios: bench/<name>.ts exporting `run(): Promise<Record<string, unknown>>`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = ['sim', 'policy', 'store', 'dispatch', 'queue-ops'];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = (wanted.length > 0 ? wanted : ALL).filter((n) => existsSync(join(here, `${n}.ts`)));

const cpu = cpus()[0]?.model ?? 'unknown cpu';
process.stdout.write(
  `agentgate benchmarks — node ${process.version}, ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
);

let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== ${name}\n`);
  const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'single.ts'), name], {
    stdio: 'inherit',
    env: { ...process.env, AGENTGATE_LOG_LEVEL: 'silent' },
  });
  if (res.status !== 0) {
    failed++;
    process.stdout.write(`=== ${name}: FAILED (exit ${res.status ?? res.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
