/**
 * Policy decision benchmark: agentgate's compiled policy against Cedar 4 (@cedar-policy/cedar-wasm)
 * and node-casbin 5, in the same run, on the same directory (bench/policy-directory.ts: 2,000 users,
 * 500 groups, 200 queues, 2,000 extensions, 10,000 grants).
 *
 * - Cedar (bench/policy-cedar.ts) gets the whole rule set (target, ip, scope, role, supervision,
 *   grants), translated exactly, twice: grants as data (the anchor: five permits, grants as hierarchy
 *   edges) and grants as policies (one permit per grant; Cedar evaluates every policy on every call,
 *   so it is timed on what fits in a few seconds). Before any figure counts, both engines answer
 *   BENCH_POLICY_AGREE (default 10,000) requests that reach every check (about 40% allowed); one
 *   different answer fails the bench with the request and agentgate's reasons.
 * - casbin gets an RBAC model: users linked to their groups by `g`, extensions to their owner and
 *   owners to their groups by `g2`, one `p` line per (grant, action, target). It answers only the
 *   grant part (extension AND queue for login/logout), so it may allow what agentgate's other checks
 *   refuse, never the reverse (checked on its sample).
 *
 * Figures: load time (cold, each in a fresh process), decisions per second (tight loop over
 * pre-built requests; for Cedar, pre-built calls with their entity slice), p50/p99 per-decision
 * latency (each decision timed with process.hrtime.bigint, which adds a few tens of ns), ratios.
 * Goals: >= 500,000 decisions/s, p99 <= 20 µs, load <= 200 ms, >= 10x Cedar's decisions/s.
 * Sizes for a quick run: BENCH_POLICY_AGREE, BENCH_POLICY_MS (timing windows, default 2000),
 * BENCH_POLICY_COLD_RUNS (default 7), BENCH_POLICY_CEDAR_POLICIES=0 skips Cedar's grants-as-policies.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getCedarVersion, type StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { newEnforcer, newModelFromString } from 'casbin';
import { compilePolicy, decide, parsePolicyDoc, type Decision, type DecisionRequest, type PolicyDoc } from '../src/domain/policy/index.js';
import { buildCedar, cedarAllows, type CedarMode } from './policy-cedar.js';
import { generateMixedRequests, generatePolicy, generateRequests, SIZE } from './policy-directory.js';

/** What BENCHMARKS.md says above this scenario's figures. */
export const NOTES = `The same directory (2,000 users in 500 groups, 2,000 extensions each owned by a user, 200 queues,
10,000 grants; \`bench/policy-directory.ts\`) is decided by agentgate, by Cedar and by node-casbin
in one run. Cedar gets every rule of \`src/domain/policy/decide.ts\` (target, source address, portal
scope, role bound, supervision, grants), translated by \`bench/policy-cedar.ts\`, in two forms:
**grants as data** (five permits; each grant is a hierarchy edge from its subject to a \`Perm\`
entity; the form Cedar's guides recommend for large relationship sets, and the anchor of the
≥ 10× goal) and **grants as policies** (one permit per grant, evaluated on every call). Before its
figures count, Cedar must give agentgate's answer (allowed or denied) on every one of
\`BENCH_POLICY_AGREE\` (10,000) requests drawn to reach every check, and on every request it is
timed on; one difference fails the run. Cedar is called with a pre-built request and the entities
that decision can touch (actor, its groups, the extension, its owner and the owner's groups, the
queue), as its documentation advises; building that slice is not timed.

What Cedar cannot express, and how the comparison stays exact:
- *A supervisor reaches the agents of the queues its grants name*: Cedar cannot read its own
  policies, so the translator derives each supervisor's queues from the grants as entity data.
- *\`%\` wildcards in \`ipAllow\`*: Cedar has CIDR ranges; \`10.0.%.%\` is 10.0.0.0/16 and the
  translator refuses a \`%\` before a number (\`10.%.3.%\`). The benchmark directory uses
  \`10.0.%.%\` only, and requests carry plain IPv4 addresses (agentgate also matches the IPv4 inside
  \`::ffff:a.b.c.d\`, Cedar does not).
- *Unknown users, extensions or queues*: agentgate denies with a reason, Cedar would report an error;
  no sampled request names one.

node-casbin answers only the grant part (RBAC over ~80,000 \`p\` lines), so it may allow what the
other checks refuse (never the reverse, checked on its sample); it scans every line per decision,
and so does Cedar with grants as policies: both are timed on the requests that fit in a few seconds.`;

/**
 * casbin's best shot at the same grants: plain RBAC (no domain, the bench has one PBX), users linked
 * to their groups by `g`, extensions to their owner and owners to their groups by `g2`, and the cheap
 * action comparison first so that the role look-ups run only for lines of the right action.
 */
const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && g(r.sub, p.sub) && g2(r.obj, p.obj)
`;

type Enforcer = Awaited<ReturnType<typeof newEnforcer>>;

export async function buildCasbin(doc: PolicyDoc): Promise<Enforcer> {
  const e = await newEnforcer(newModelFromString(CASBIN_MODEL));
  const p: string[][] = [];
  for (const g of doc.grants) for (const a of g.actions) for (const t of g.targets) p.push([g.subject, t, a]);
  const gRules: string[][] = [];
  for (const u of doc.users) for (const g of u.groups) gRules.push([`user:${u.id}`, `group:${g}`]);
  const g2Rules: string[][] = [];
  for (const u of doc.users) {
    for (const x of u.extensions) g2Rules.push([`extension:${x}`, `user:${u.id}`]);
    for (const g of u.groups) g2Rules.push([`user:${u.id}`, `group:${g}`]);
  }
  await e.addPolicies(p);
  await e.addNamedGroupingPolicies('g', gRules);
  await e.addNamedGroupingPolicies('g2', g2Rules);
  return e;
}

export function casbinDecide(e: Enforcer, r: DecisionRequest): boolean {
  const sub = `user:${r.actor}`;
  const extOk = e.enforceSync(sub, `extension:${r.extension}`, r.action);
  if (r.action !== 'login' && r.action !== 'logout') return extOk;
  return extOk && r.queue !== undefined && e.enforceSync(sub, `queue:${r.queue}`, r.action);
}

/** Decisions per second over at least minMs, cycling through reqs (the clock read every 256). */
function throughput<T>(fn: (r: T) => boolean, reqs: readonly T[], minMs: number): { perSec: number; allowed: number } {
  let n = 0;
  let allowed = 0;
  let i = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(minMs * 1e6));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let k = 0; k < 256; k++) {
      if (fn(reqs[i]!)) allowed++;
      if (++i === reqs.length) i = 0;
    }
    n += 256;
    elapsed = process.hrtime.bigint() - start;
  }
  return { perSec: (n / Number(elapsed)) * 1e9, allowed: allowed / n };
}

export interface CedarPoliciesFigures {
  buildMs: number;
  perSec: number;
  p50: number;
  p99: number;
  n: number;
  allowed: number;
}

/** Decisions over reqs in order, each timed, until maxMs have passed (at least 5). */
export function timedSample<T>(
  fn: (r: T) => boolean,
  reqs: readonly T[],
  maxMs: number,
): { n: number; perSec: number; allowed: number; p50: number; p99: number; max: number; answers: boolean[] } {
  const times: number[] = [];
  const answers: boolean[] = [];
  const limit = BigInt(maxMs) * 1_000_000n;
  const start = process.hrtime.bigint();
  let spent = 0n;
  for (const r of reqs) {
    const t0 = process.hrtime.bigint();
    answers.push(fn(r));
    const dt = process.hrtime.bigint() - t0;
    spent += dt;
    times.push(Number(dt) / 1000);
    if (times.length >= 5 && process.hrtime.bigint() - start > limit) break;
  }
  const sorted = [...times].sort((x, y) => x - y);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    n: times.length,
    perSec: (times.length / Number(spent)) * 1e9,
    allowed: answers.filter(Boolean).length / answers.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    answers,
  };
}

/** p50/p99/max of per-decision latency in µs. */
function latency<T>(fn: (r: T) => boolean, reqs: readonly T[]): { p50: number; p99: number; max: number } {
  const times = new Float64Array(reqs.length);
  for (let i = 0; i < reqs.length; i++) {
    const t0 = process.hrtime.bigint();
    fn(reqs[i]!);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  times.sort();
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1]! };
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

/** Cold loads, each in a fresh process (start-up is what pays a cold load): median of `runs`. */
function coldLoads(runs: number): { parseMs: number; indexMs: number; totalMs: number; all: number[] } {
  const script = fileURLToPath(new URL('./policy-load.ts', import.meta.url));
  const samples: Array<{ parseMs: number; indexMs: number }> = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cold load run failed: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as { parseMs: number; indexMs: number });
  }
  const totals = samples.map((x) => x.parseMs + x.indexMs).sort((a, b) => a - b);
  const mid = samples.slice().sort((a, b) => a.parseMs + a.indexMs - (b.parseMs + b.indexMs))[Math.floor(runs / 2)]!;
  return {
    parseMs: +mid.parseMs.toFixed(1),
    indexMs: +mid.indexMs.toFixed(1),
    totalMs: +(mid.parseMs + mid.indexMs).toFixed(1),
    all: totals.map((x) => +x.toFixed(0)),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const cold = coldLoads(Number(process.env.BENCH_POLICY_COLD_RUNS ?? 7));
  const windowMs = Number(process.env.BENCH_POLICY_MS ?? 2000);
  const t0 = process.hrtime.bigint();
  const doc = generatePolicy();
  const tGen = process.hrtime.bigint();
  const text = JSON.stringify(doc);
  // The document as the loader receives it (from YAML or the Store), and a heap without the
  // generator's garbage, as at start-up: the timing below is the loader's own work.
  const raw0 = JSON.parse(text) as unknown;
  (globalThis as { gc?: () => void }).gc?.();
  const tLoad0 = process.hrtime.bigint();
  const parsed = parsePolicyDoc(raw0);
  if (!parsed.ok) throw new Error(`generated policy invalid: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  const tParse = process.hrtime.bigint();

  // Compile time: first (cold) and best of 5.
  const tc0 = process.hrtime.bigint();
  let policy = compilePolicy(parsed.value, 1);
  const compileColdMs = ms(process.hrtime.bigint() - tc0);
  let compileBestMs = compileColdMs;
  for (let i = 0; i < 5; i++) {
    const s = process.hrtime.bigint();
    policy = compilePolicy(parsed.value, 1);
    compileBestMs = Math.min(compileBestMs, ms(process.hrtime.bigint() - s));
  }

  const progress = (what: string): void => void process.stderr.write(`policy: ${what}\n`);
  progress('generating requests');
  // Load again once warm: what a policy change through the API pays in a running daemon.
  let loadWarmMs = Infinity;
  for (let i = 0; i < 5; i++) {
    const raw = JSON.parse(text) as unknown;
    const s0 = process.hrtime.bigint();
    const again = parsePolicyDoc(raw);
    if (again.ok) compilePolicy(again.value, 2);
    loadWarmMs = Math.min(loadWarmMs, ms(process.hrtime.bigint() - s0));
  }
  const reqs = generateRequests(parsed.value, 100_000);
  progress('agentgate decisions');
  const ag = (r: DecisionRequest): boolean => decide(policy, r).allowed;
  throughput(ag, reqs, windowMs / 6); // warm-up (JIT)
  const agT = throughput(ag, reqs, windowMs);
  latency(ag, reqs.slice(0, 20_000)); // warm-up of the timed path
  const agL = latency(ag, reqs);

  // Cedar, grants as data: agreement first (a figure for an engine that answers differently is
  // worth nothing), then the same requests as agentgate's, as pre-built calls.
  progress('building Cedar (grants as data)');
  const cedar = timedBuild(() => buildCedar(parsed.value, 'grants-as-data'));
  const agreeN = Number(process.env.BENCH_POLICY_AGREE ?? 10_000);
  progress(`Cedar vs agentgate on ${agreeN} requests`);
  const mixed = generateMixedRequests(parsed.value, agreeN);
  const agreement = checkAgreement(
    policy,
    mixed,
    mixed.map((r) => cedar.model.call(r)),
    'grants-as-data',
  );
  progress('Cedar decisions (grants as data)');
  const cdCalls = reqs.slice(0, 20_000).map((r) => cedar.model.call(r));
  const cdAnswer = (c: StatefulAuthorizationCall): boolean => cedarAllows(c);
  throughput(cdAnswer, cdCalls.slice(0, 2000), windowMs / 6); // warm-up
  const cdT = throughput(cdAnswer, cdCalls, windowMs);
  const cdL = timedSample(cdAnswer, cdCalls, windowMs);
  checkAgreement(policy, reqs.slice(0, cdL.n), cdCalls.slice(0, cdL.n), 'grants-as-data', cdL.answers);

  // Cedar, grants as policies: every call evaluates ~10,000 policies; timed on what fits, in a
  // process of its own (bench/policy-cedar-policies.ts): with both policy sets in one wasm instance,
  // Node 20's V8 aborted in its deoptimizer during this part.
  let cp: CedarPoliciesFigures | undefined;
  if (process.env.BENCH_POLICY_CEDAR_POLICIES !== '0') {
    progress('Cedar (grants as policies), in its own process');
    const script = fileURLToPath(new URL('./policy-cedar-policies.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_POLICY_MS: String(windowMs) },
    });
    if (r.status !== 0) throw new Error(`Cedar (grants as policies) failed: exit ${r.status ?? r.signal}`);
    cp = JSON.parse(r.stdout.trim().split('\n').pop()!) as CedarPoliciesFigures;
  }

  const tb0 = process.hrtime.bigint();
  progress('building casbin');
  const enforcer = await buildCasbin(parsed.value);
  progress('casbin decisions');
  const casbinBuildMs = ms(process.hrtime.bigint() - tb0);
  const cb = (r: DecisionRequest): boolean => casbinDecide(enforcer, r);
  // casbin evaluates its matcher against every policy line (~80k here): a denial costs a full scan
  // (hundreds of ms on this policy), so casbin is timed on as many of the same requests as fit in a
  // few seconds, each decision timed on its own; rate = decisions / time spent.
  const cbSample = timedSample(cb, reqs, windowMs * 4);
  const cbReqs = reqs.slice(0, cbSample.n);
  // casbin checks only grants: it may allow what agentgate's scope/role/IP checks refuse, never the
  // reverse. Checked on the requests agentgate allowed within the sample.
  let agreeOnAllowed = 0;
  let agAllowedTotal = 0;
  cbReqs.forEach((r, i) => {
    if (ag(r)) {
      agAllowedTotal++;
      if (cbSample.answers[i]) agreeOnAllowed++;
    }
  });

  const r2 = (x: number): number => +x.toFixed(2);
  const figures = {
    machine: `node ${process.version}, ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown cpu'}`,
    size: SIZE,
    generateMs: Math.round(ms(tGen - t0)),
    parseMs: Math.round(ms(tParse - tLoad0)),
    compileColdMs: +compileColdMs.toFixed(1),
    compileBestMs: +compileBestMs.toFixed(1),
    /** What start-up pays: validate then index, each run in a fresh process; the median. */
    loadColdMedianMs: cold.totalMs,
    loadColdRunsMs: cold.all,
    loadInThisRunMs: +(ms(tParse - tLoad0) + compileColdMs).toFixed(1),
    loadWarmMs: +loadWarmMs.toFixed(1),
    agentgateDecisionsPerSec: Math.round(agT.perSec),
    agentgateP50Us: r2(agL.p50),
    agentgateP99Us: r2(agL.p99),
    agentgateAllowedShare: +agT.allowed.toFixed(3),
    cedar: {
      version: getCedarVersion(),
      grantsAsData: {
        policies: cedar.model.policies,
        buildMs: Math.round(cedar.buildMs),
        decisionsPerSec: Math.round(cdT.perSec),
        p50Us: r2(cdL.p50),
        p99Us: r2(cdL.p99),
        allowedShare: +cdT.allowed.toFixed(3),
        timedRequests: cdL.n,
      },
      grantsAsPolicies:
        cp === undefined
          ? 'skipped (BENCH_POLICY_CEDAR_POLICIES=0)'
          : {
              buildMs: Math.round(cp.buildMs),
              decisionsPerSec: Math.round(cp.perSec),
              p50Us: r2(cp.p50),
              p99Us: r2(cp.p99),
              allowedShare: +cp.allowed.toFixed(3),
              timedRequests: cp.n,
            },
      agreement,
    },
    speedupVsCedar: +(agT.perSec / cdT.perSec).toFixed(1),
    casbinBuildMs: Math.round(casbinBuildMs),
    casbinDecisionsPerSec: Math.round(cbSample.perSec),
    casbinP50Us: r2(cbSample.p50),
    casbinP99Us: r2(cbSample.p99),
    casbinAllowedShare: +cbSample.allowed.toFixed(3),
    casbinSampleSize: cbSample.n,
    speedupVsCasbin: +(agT.perSec / cbSample.perSec).toFixed(1),
    casbinAlsoAllowsWhatAgentgateAllows: `${agreeOnAllowed}/${agAllowedTotal}`,
    goals: {
      decisionsPerSec: agT.perSec >= 500_000 ? 'met' : 'MISSED',
      p99: agL.p99 <= 20 ? 'met' : 'MISSED',
      load: cold.totalMs <= 200 ? 'met' : 'MISSED',
      vsCedar: agT.perSec >= 10 * cdT.perSec ? 'met' : 'MISSED',
    },
  };

  const row = (name: string, ...cols: string[]): string => `${name.padEnd(24)}${cols.map((c) => c.padStart(18)).join('')}\n`;
  const n = (x: number | undefined): string => (x === undefined ? '-' : Math.round(x).toLocaleString('en'));
  const us = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));
  process.stdout.write(
    `policy: ${SIZE.grants} grants, ${SIZE.users} users, ${SIZE.groups} groups, ${SIZE.queues} queues, ${SIZE.extensions} extensions — ${figures.machine}\n`,
  );
  process.stdout.write(row('', 'agentgate', 'Cedar (data)', 'Cedar (policies)', 'node-casbin 5'));
  process.stdout.write(row('load (ms)', `${cold.totalMs} cold`, n(cedar.buildMs), n(cp?.buildMs), n(casbinBuildMs)));
  process.stdout.write(row('load once warm (ms)', loadWarmMs.toFixed(1), '', '', ''));
  process.stdout.write(row('decisions / s', n(agT.perSec), n(cdT.perSec), n(cp?.perSec), n(cbSample.perSec)));
  process.stdout.write(row('p50 latency (µs)', us(agL.p50), us(cdL.p50), us(cp?.p50), us(cbSample.p50)));
  process.stdout.write(row('p99 latency (µs)', us(agL.p99), us(cdL.p99), us(cp?.p99), us(cbSample.p99)));
  process.stdout.write(
    row(
      'allowed share',
      agT.allowed.toFixed(3),
      cdT.allowed.toFixed(3),
      cp === undefined ? '-' : cp.allowed.toFixed(3),
      cbSample.allowed.toFixed(3),
    ),
  );
  process.stdout.write(row('requests timed', String(reqs.length), String(cdL.n), String(cp?.n ?? '-'), String(cbSample.n)));
  process.stdout.write(
    `agentgate is ${figures.speedupVsCedar}x Cedar (grants as data) and ${figures.speedupVsCasbin}x casbin; Cedar agreed on ${agreement.requests} requests (${agreement.allowed} allowed, ${agreement.denied} denied); goals: ${JSON.stringify(figures.goals)}\n`,
  );
  return figures;
}

export function timedBuild<T>(build: () => T): { model: T; buildMs: number } {
  const t = process.hrtime.bigint();
  const model = build();
  return { model, buildMs: ms(process.hrtime.bigint() - t) };
}

/**
 * Both engines answer every request the same, or the bench fails here naming the first requests
 * that differ with agentgate's reasons. `answers`: Cedar's, when already computed.
 */
export function checkAgreement(
  policy: ReturnType<typeof compilePolicy>,
  reqs: readonly DecisionRequest[],
  calls: readonly StatefulAuthorizationCall[],
  mode: CedarMode,
  answers?: readonly boolean[],
): { requests: number; allowed: number; denied: number } {
  const differ: string[] = [];
  let allowed = 0;
  reqs.forEach((r, i) => {
    const d: Decision = decide(policy, r);
    const c = answers?.[i] ?? cedarAllows(calls[i]!);
    if (d.allowed) allowed++;
    if (c !== d.allowed && differ.length < 5) {
      differ.push(
        `${JSON.stringify(r)}: agentgate ${
          d.allowed
            ? 'allows'
            : `denies (${d.reasons
                .filter((x) => !x.passed)
                .map((x) => x.detail)
                .join('; ')})`
        }, Cedar ${c ? 'allows' : 'denies'}`,
      );
    }
  });
  if (differ.length > 0) throw new Error(`Cedar (${mode}) and agentgate disagree:\n  ${differ.join('\n  ')}`);
  if (reqs.length >= 100 && (allowed === 0 || allowed === reqs.length))
    throw new Error(`agreement sample not informative: ${allowed}/${reqs.length} allowed`);
  return { requests: reqs.length, allowed, denied: reqs.length - allowed };
}
