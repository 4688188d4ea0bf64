/**
 * `agentgate sim-call <agent> [timeout] [--ari http://127.0.0.1:8088]`: a caller dials in on a running
 * simulator and enters Stasis(agentgate,dispatch,<agent>[,<timeout>]) (POST /sim/dial-in).
 */
import { flag, positionals } from '../args.js';

export async function run(args: string[]): Promise<number> {
  const [agent, timeout] = positionals(args, ['--ari']);
  if (!agent) {
    process.stderr.write('usage: agentgate sim-call <agent> [timeout seconds] [--ari http://127.0.0.1:8088]\n');
    return 2;
  }
  const base = flag(args, '--ari') ?? 'http://127.0.0.1:8088';
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
  process.stdout.write(body.failed ? `call ${body.id}: Stasis() failed (no agentgate connected to the app)\n` : `call ${body.id} entered Stasis(agentgate,dispatch,${agent})\n`);
  return 0;
}
