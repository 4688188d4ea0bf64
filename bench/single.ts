/**
 * Runs one benchmark scenario (bench/<name>.ts) and prints its figures as JSON after its own table;
 * with BENCH_FIGURES_FILE set (bench/run.ts sets it), also writes them there, with the scenario's
 * NOTES (markdown, optional export), for BENCHMARKS.md.
 */
import { writeFileSync } from 'node:fs';

const name = process.argv[2];
if (!name) throw new Error('usage: single.ts <scenario>');
const mod = (await import(`./${name}.js`)) as { run: () => Promise<Record<string, unknown>>; NOTES?: string };
const figures = await mod.run();
process.stdout.write(`${name} figures: ${JSON.stringify(figures)}\n`);
if (process.env.BENCH_FIGURES_FILE) writeFileSync(process.env.BENCH_FIGURES_FILE, JSON.stringify({ figures, notes: mod.NOTES ?? '' }));
process.exit(0);
