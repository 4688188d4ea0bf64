/**
 * Cedar with one policy per grant (bench/policy-cedar.ts, `grants-as-policies`), in a process of its
 * own (spawned by bench/policy.ts): builds the benchmark directory, times as many of the benchmark's
 * requests as fit in 4 × BENCH_POLICY_MS, checks each answer against agentgate's (a difference exits
 * non-zero), and prints the figures as one JSON line.
 */
import { compilePolicy, parsePolicyDoc } from '../src/domain/policy/index.js';
import { buildCedar, cedarAllows } from './policy-cedar.js';
import { generatePolicy, generateRequests } from './policy-directory.js';
import { checkAgreement, timedBuild, timedSample, type CedarPoliciesFigures } from './policy.js';

const parsed = parsePolicyDoc(JSON.parse(JSON.stringify(generatePolicy())) as unknown);
if (!parsed.ok) throw new Error('generated policy invalid');
const policy = compilePolicy(parsed.value, 1);
const reqs = generateRequests(parsed.value, 100_000).slice(0, 2000);
const windowMs = Number(process.env.BENCH_POLICY_MS ?? 2000);
const { model, buildMs } = timedBuild(() => buildCedar(parsed.value, 'grants-as-policies'));
process.stderr.write(`policy: Cedar (grants as policies): ${model.policies} policies built in ${Math.round(buildMs)} ms\n`);
const calls = reqs.map((r) => model.call(r));
timedSample(cedarAllows, calls.slice(0, 3), 0); // warm-up
const sample = timedSample(cedarAllows, calls, Math.max(windowMs * 4, 1000));
checkAgreement(policy, reqs.slice(0, sample.n), calls.slice(0, sample.n), 'grants-as-policies', sample.answers);
const figures: CedarPoliciesFigures = {
  buildMs,
  perSec: sample.perSec,
  p50: sample.p50,
  p99: sample.p99,
  n: sample.n,
  allowed: sample.allowed,
};
process.stdout.write(`${JSON.stringify(figures)}\n`);
