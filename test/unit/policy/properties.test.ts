import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capabilities, compilePolicy, decide, explain, QUEUE_ACTIONS, type PolicyDoc } from '../../../src/domain/policy/index.js';
import { docWithRequests, policyDocArb } from './arbitrary.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };

function withoutGrant(doc: PolicyDoc, index: number): PolicyDoc {
  return { ...doc, grants: doc.grants.filter((_, i) => i !== index) };
}

describe('policy properties', () => {
  it('deny by default: with no grants nothing is allowed', () => {
    fc.assert(
      fc.property(docWithRequests, ([doc, reqs]) => {
        const p = compilePolicy({ ...doc, grants: [] });
        for (const r of reqs) expect(decide(p, r).allowed).toBe(false);
      }),
      RUNS,
    );
  });

  it('every allow is backed by a matching grant and every check passed', () => {
    fc.assert(
      fc.property(docWithRequests, ([doc, reqs]) => {
        const p = compilePolicy(doc);
        for (const r of reqs) {
          const d = decide(p, r);
          if (!d.allowed) continue;
          expect(d.matched.length).toBeGreaterThan(0);
          expect(d.reasons.every((c) => c.passed)).toBe(true);
          expect(d.reasons.some((c) => c.name === 'extension-grant')).toBe(true);
          if (r.action === 'login' || r.action === 'logout') expect(d.reasons.some((c) => c.name === 'queue-grant')).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('removing a grant never widens access', () => {
    fc.assert(
      fc.property(docWithRequests, fc.nat(), ([doc, reqs], k) => {
        fc.pre(doc.grants.length > 0);
        const full = compilePolicy(doc);
        const less = compilePolicy(withoutGrant(doc, k % doc.grants.length));
        for (const r of reqs) if (decide(less, r).allowed) expect(decide(full, r).allowed).toBe(true);
      }),
      RUNS,
    );
  });

  it('decisions are deterministic (same doc, recompiled copy, repeated calls)', () => {
    fc.assert(
      fc.property(docWithRequests, ([doc, reqs]) => {
        const a = compilePolicy(doc);
        const b = compilePolicy(structuredClone(doc));
        for (const r of reqs) {
          const first = decide(a, r);
          expect(decide(a, r)).toEqual(first);
          expect(decide(b, r)).toEqual(first);
        }
      }),
      RUNS,
    );
  });

  it('explain lists a failing check for every deny', () => {
    fc.assert(
      fc.property(docWithRequests, ([doc, reqs]) => {
        const p = compilePolicy(doc);
        for (const r of reqs) {
          const d = decide(p, r);
          const failed = d.reasons.filter((c) => !c.passed);
          expect(failed.length > 0).toBe(!d.allowed);
          const text = explain(d, r);
          for (const f of failed) expect(text).toContain(`✗ ${f.name}: ${f.detail}`);
        }
      }),
      RUNS,
    );
  });

  it('capabilities agree with decide, both ways', () => {
    fc.assert(
      fc.property(policyDocArb, (doc) => {
        const p = compilePolicy(doc);
        for (const u of doc.users) {
          const caps = capabilities(p, u.id);
          for (const action of QUEUE_ACTIONS) {
            const needsQueue = action === 'login' || action === 'logout';
            const allowedExt = new Set<string>();
            const allowedQ = new Set<string>();
            for (const e of doc.extensions) {
              if (!needsQueue && decide(p, { actor: u.id, action, extension: e.id }).allowed) allowedExt.add(e.id);
              for (const q of doc.queues) {
                if (decide(p, { actor: u.id, action, extension: e.id, queue: q.id }).allowed) {
                  allowedExt.add(e.id);
                  allowedQ.add(q.id);
                }
              }
            }
            expect(new Set(caps.actions[action].extensions), `${u.id} ${action} extensions`).toEqual(allowedExt);
            expect(new Set(caps.actions[action].queues), `${u.id} ${action} queues`).toEqual(allowedQ);
          }
          const any = QUEUE_ACTIONS.some((a) => caps.actions[a].extensions.length > 0);
          expect(caps.queueButton).toBe(any);
        }
      }),
      { numRuns: Math.ceil(Number(process.env.PROPERTY_RUNS ?? 300) / 1.5) },
    );
  });

  it('is total: arbitrary strings never throw', () => {
    const p = compilePolicy({ users: [], groups: [], extensions: [], queues: [], grants: [] });
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        (actor, extension, queue, ip) => {
          const req = {
            actor,
            action: 'login' as const,
            extension,
            ...(queue === undefined ? {} : { queue }),
            ...(ip === undefined ? {} : { ip }),
          };
          expect(decide(p, req).allowed).toBe(false);
        },
      ),
      RUNS,
    );
  });
});
