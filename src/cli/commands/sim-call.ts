/**
 * `agentgate sim-call <agent> [timeout] [--ari http://127.0.0.1:8088]`: a caller dials in on a running
 * simulator and enters Stasis(agentgate,dispatch,<agent>[,<timeout>]) (POST /sim/dial-in).
 */
import { parse, UsageError } from '../args.js';

export const USAGE = 'usage: agentgate sim-call <agent> [timeout seconds] [--ari http://127.0.0.1:8088]\n';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ari: { type: 'string' } });
  const [agent, timeout, ...extra] = positionals;
  if (!agent) throw new UsageError('which agent? (agentgate sim-call alice)');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new UsageError(`timeout: '${timeout}' is not a number of seconds`);
  const base = values.ari ?? 'http://127.0.0.1:8088';
  const res = await fetch(`${base}/sim/dial-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ args: timeout ? ['dispatch', agent, timeout] : ['dispatch', agent] }),
  });
  const body = (await res.json()) as { id?: string; failed?: boolean; message?: string };
  if (!res.ok) {
    process.stderr.write(`sim-call: ${res.status} ${body.message ?? ''}\n`);
    return 1;
  }
  process.stdout.write(
    body.failed
      ? `call ${body.id}: Stasis() failed (no agentgate connected to the app)\n`
      : `call ${body.id} entered Stasis(agentgate,dispatch,${agent})\n`,
  );
  return 0;
}
