/**
 * One cold policy load in a fresh process (spawned by bench/policy.ts): the benchmark directory as
 * the loader receives it, a heap without the generator's garbage, then validate (parsePolicyDoc) and
 * index (compilePolicy). Prints `{"parseMs":..,"indexMs":..}`.
 */
import { compilePolicy, parsePolicyDoc } from '../src/domain/policy/index.js';
import { generatePolicy } from './policy-directory.js';

const raw = JSON.parse(JSON.stringify(generatePolicy())) as unknown;
(globalThis as { gc?: () => void }).gc?.();
const t0 = process.hrtime.bigint();
const parsed = parsePolicyDoc(raw);
const t1 = process.hrtime.bigint();
if (!parsed.ok) throw new Error('generated policy invalid');
compilePolicy(parsed.value, 1);
const t2 = process.hrtime.bigint();
process.stdout.write(`${JSON.stringify({ parseMs: Number(t1 - t0) / 1e6, indexMs: Number(t2 - t1) / 1e6 })}\n`);
