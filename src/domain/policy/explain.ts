/**
 * Renders a Decision for people: a verdict line, then one line per check (✓/✗), failing checks
 * first so the reason for a denial is the first thing read.
 */
import type { Decision, DecisionRequest } from './decide.js';

/** What was asked, in words: `alice login extension 1001 into queue support`. */
export function describeRequest(req: DecisionRequest): string {
  const into = req.action === 'login' ? 'into' : req.action === 'logout' ? 'out of' : 'in';
  const queue = req.queue === undefined ? '' : ` ${into} queue ${req.queue}`;
  const from = req.ip === undefined ? '' : ` from ${req.ip}`;
  return `${req.actor} ${req.action} extension ${req.extension}${queue}${from}`;
}

/**
 * Multi-line human text for a decision, e.g.
 * ```
 * DENIED: night1 login extension 2001 into queue sales
 *   ✗ queue-grant: no grant lets user:night1 or group:night login queue:sales
 *   ✓ actor: night1 (agent, call_center_agent)
 * ```
 * Every failing check of a denial appears (each on its own line, named).
 */
export function explain(decision: Decision, req: DecisionRequest): string {
  const lines = [`${decision.allowed ? 'ALLOWED' : 'DENIED'}: ${describeRequest(req)}`];
  const failed = decision.reasons.filter((r) => !r.passed);
  const passed = decision.reasons.filter((r) => r.passed);
  for (const r of [...failed, ...passed]) {
    const grants = r.grants && r.grants.length > 0 ? ` [grant ${r.grants.join(', ')}]` : '';
    lines.push(`  ${r.passed ? '✓' : '✗'} ${r.name}: ${r.detail}${grants}`);
  }
  if (!decision.allowed && failed.length === 0) lines.push('  ✗ default: no check allowed it (deny by default)');
  if (decision.matched.length > 0) lines.push(`  matched grants: ${decision.matched.join(', ')}`);
  return lines.join('\n');
}
