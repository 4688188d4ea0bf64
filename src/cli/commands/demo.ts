/**
 * `agentgate demo`: the README's first command. Starts the Asterisk simulator (real ARI and AMI on
 * local ports) and the real daemon against it, then walks a newcomer through what agentgate does, as
 * a readable timeline:
 *   1. a ring-all call: three addresses ring, one answers, the others are hung up as answered
 *      elsewhere, the bridge, the hang-up;
 *   2. a call where the caller gives up while the agent's phones ring;
 *   3. queue operations under the policy: a supervisor logs an agent in (allowed, with the reasons),
 *      an agent tries to log someone else in (denied, the missing grant named), a pause with a reason,
 *      a dialplan feature code (*41);
 *   4. call control over the HTTP API with real tokens (src/cli/demo-call-control.ts): the buttons an
 *      agent may press on her call, hold (the customer hears music, the agent stays on the line), a
 *      transfer the policy refuses (the reasons) and the desk phone's refused Transfer key (603), a
 *      direct transfer to a colleague ringing on all his devices;
 * then keeps the HTTP API running and prints a token and a ready curl line. Ctrl-C stops everything.
 *
 * Flags: --no-wait (exit after the walk-through; used by the tests), --port N (HTTP API, default 8080;
 * 0 = any free port).
 */
import { parse, portFlag, UsageError } from '../args.js';
import { Simulator } from '../../sim/index.js';
import { validateConfig } from '../../config/load.js';
import { startDaemon, type Daemon } from '../../daemon.js';
import { createMemoryStore } from '../../adapters/store/memory.js';
import { systemClock } from '../../ports/clock.js';
import { createLogger } from '../../log.js';
import { describeRequest, explain, type DecisionRequest } from '../../domain/policy/index.js';
import { AgentgateError } from '../../errors/codes.js';
import { callControlWalkThrough } from '../demo-call-control.js';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

function demoConfig(sim: Simulator, httpPort: number): unknown {
  return {
    instance: { id: 'demo-1' },
    log: { level: 'error' },
    servers: [
      {
        name: 'pbx1',
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', app: 'agentgate' },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    dispatch: { answer: 'late', ringTimeoutSec: 20 },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice Agent',
          role: 'agent',
          scope: 'call_center_agent',
          groups: ['support-team'],
          extensions: ['1001'],
          addresses: ['PJSIP/1002', 'PJSIP/1001', 'PJSIP/2001'],
          // requeue stays off: the demo shows a button she may not press, with the policy's reason.
          flags: { inbound: true, hold: true, hangup: true, transfer: true, directTransfer: 'own_group' },
        },
        {
          id: 'bob',
          name: 'Bob Agent',
          role: 'agent',
          scope: 'call_center_agent',
          groups: ['support-team'],
          extensions: ['1003'],
          // A colleague alice may transfer to (own_group): every one of his addresses rings.
          addresses: ['PJSIP/1002', 'PJSIP/2002'],
          flags: { inbound: true },
        },
        {
          id: 'sam',
          name: 'Sam Supervisor',
          role: 'supervisor',
          scope: 'call_center_supervisor',
          extensions: ['1005'],
          // transfer is off: the demo shows his transfer of alice's customer refused.
          flags: { inbound: true },
        },
      ],
      groups: [{ id: 'support-team', members: ['alice', 'bob'], supervisors: ['sam'] }],
      extensions: [
        { id: '1001', interface: 'PJSIP/1001', server: 'pbx1' },
        { id: '1003', interface: 'PJSIP/1003', server: 'pbx1' },
        { id: '1005', interface: 'PJSIP/1005', server: 'pbx1' },
      ],
      queues: [
        { id: 'support', server: 'pbx1' },
        { id: 'sales', server: 'pbx1' },
      ],
      grants: [
        { id: 'agents-self', subject: 'group:support-team', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['queue:support'] },
        { id: 'alice-own', subject: 'user:alice', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:alice'] },
        { id: 'bob-own', subject: 'user:bob', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:bob'] },
        {
          id: 'sam-team',
          subject: 'user:sam',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['group:support-team', 'queue:support', 'queue:sales'],
        },
      ],
    },
  };
}

function line(t0: number, text: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(2).padStart(6);
  process.stdout.write(`${dim(`+${s}s`)}  ${text}\n`);
}

async function queueStep(
  daemon: Daemon,
  t0: number,
  title: string,
  req: DecisionRequest & { reason?: string; penalty?: number },
): Promise<void> {
  process.stdout.write(`\n${bold(title)}\n`);
  try {
    const res = await daemon.queue.execute({ ...req, source: 'http' });
    line(t0, `ALLOWED ${describeRequest(req)}`);
    for (const r of res.decision.reasons) line(t0, `   ✓ ${r.name}: ${r.detail}${r.grants ? ` [grant ${r.grants.join(', ')}]` : ''}`);
    line(t0, `   AMI: ${res.ami.response}${res.ami.message ? ` — ${res.ami.message}` : ''}`);
  } catch (err) {
    if (err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_FORBIDDEN') {
      const decision = (err.details as { decision?: Parameters<typeof explain>[0] }).decision;
      if (decision) for (const l of explain(decision, req).split('\n')) line(t0, l);
      else line(t0, `DENIED ${describeRequest(req)}: ${err.message}`);
      line(t0, '   nothing was sent to Asterisk');
    } else {
      line(t0, `ERROR ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export const USAGE = `usage: agentgate demo [--port 8080] [--no-wait]
  The simulator and the daemon, a readable timeline of calls, queue operations and call control, then the HTTP API
  with a token and a curl line until Ctrl-C. --port 0 = any free port; --no-wait exits after the walk-through.
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: 'string' }, 'no-wait': { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const wait = values['no-wait'] !== true;
  const httpPort = portFlag('port', values.port, wait ? 8080 : 0);
  const t0 = Date.now();
  process.stdout.write(`${bold('agentgate demo')} — the daemon against the built-in Asterisk simulator (real ARI + AMI sockets)\n`);

  const sim = await Simulator.start({ ariPort: 0, amiPort: 0 });
  // Alice's three addresses: the desk phone answers after 1.5 s, the softphone and the mobile ring.
  sim.setEndpoint('PJSIP/1001', { kind: 'answer', afterMs: 1500 });
  sim.setEndpoint('PJSIP/1002', { kind: 'ring' });
  sim.setEndpoint('PJSIP/2001', { kind: 'ring' });
  sim.setEndpoint('PJSIP/2002', { kind: 'ring' });
  line(t0, `simulator: ARI ${sim.ariUrl}, AMI 127.0.0.1:${sim.amiPort}`);

  const config = validateConfig(demoConfig(sim, httpPort), 'demo config');
  const clock = systemClock();
  const daemon = await startDaemon(config, { store: createMemoryStore({ clock }), clock, logger: createLogger({ level: 'silent' }) });
  line(t0, `agentgate: connected to ARI and AMI, HTTP API on ${daemon.httpUrl ?? '(off)'}`);
  for (const svc of daemon.dispatch.values()) {
    svc.on('timeline', (e: { text: string }) => line(t0, e.text));
  }

  try {
    process.stdout.write(`\n${bold('1. A call for alice rings her three addresses at once')}\n`);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'], callerNumber: '5550100', callerName: 'Customer' });
    await new Promise((r) => setTimeout(r, 3000));
    line(t0, 'the customer hangs up after talking');
    await call.hangup();
    await new Promise((r) => setTimeout(r, 300));

    process.stdout.write(`\n${bold('2. A call for bob: the caller gives up while the phones ring')}\n`);
    const call2 = await sim.dialIn({ args: ['dispatch', 'bob'], callerNumber: '5550101', callerName: 'Impatient' });
    await new Promise((r) => setTimeout(r, 1500));
    line(t0, 'the caller hangs up before anyone answers');
    await call2.hangup();
    await new Promise((r) => setTimeout(r, 300));

    await queueStep(daemon, t0, '3. Supervisor sam logs alice (extension 1001) into queue support', {
      actor: 'sam',
      action: 'login',
      extension: '1001',
      queue: 'support',
      ip: '127.0.0.1',
    });
    await queueStep(daemon, t0, '4. Agent alice tries to log bob (extension 1003) into queue support', {
      actor: 'alice',
      action: 'login',
      extension: '1003',
      queue: 'support',
      ip: '127.0.0.1',
    });
    await queueStep(daemon, t0, '5. Alice pauses herself with a reason', {
      actor: 'alice',
      action: 'pause',
      extension: '1001',
      queue: 'support',
      reason: 'lunch',
      ip: '127.0.0.1',
    });

    process.stdout.write(`\n${bold('6. Bob dials the feature code *41 on his phone (dialplan UserEvent → login to support)')}\n`);
    await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
    await new Promise((r) => setTimeout(r, 500));
    const [last] = await daemon.store.queryAudit({ kind: 'queue-op', actor: 'bob', limit: 1 });
    line(t0, last ? `feature code: bob ${last.action} ${last.queue ?? ''} → ${last.result}` : 'feature code: no decision recorded');
    for (const m of daemon.queue.members({ queue: 'support' })) {
      line(t0, `queue support member ${m.interface} (${m.memberName})${m.paused ? ` paused: ${m.pausedReason || 'no reason'}` : ''}`);
    }

    await callControlWalkThrough(daemon, sim, {
      line: (text) => line(t0, text),
      title: (text) => process.stdout.write(`\n${bold(text)}\n`),
    });

    const token = await daemon.tokens.issue('sam', 'demo');
    process.stdout.write(`\n${bold('The API keeps running. Try it:')}\n`);
    process.stdout.write(`  token for sam: ${token}\n`);
    process.stdout.write(`  curl -s -H 'Authorization: Bearer ${token}' ${daemon.httpUrl}/v1/queue/members\n`);
    process.stdout.write(
      `  curl -s -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' -d '{"extension":"1003","queue":"sales"}' ${daemon.httpUrl}/v1/queue/login\n`,
    );
    process.stdout.write(`  OpenAPI: ${daemon.httpUrl}/docs\n`);
    process.stdout.write(`  Ring alice again from another terminal: npx agentgate sim-call alice --ari ${sim.ariUrl}\n`);
    process.stdout.write(`  and see her call with sam's buttons: curl -s -H 'Authorization: Bearer ${token}' ${daemon.httpUrl}/v1/calls\n`);

    if (wait) {
      process.stdout.write(dim('\nCtrl-C to stop.\n'));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
  } finally {
    await daemon.stop();
    await sim.stop();
  }
  process.stdout.write('demo stopped cleanly\n');
  return 0;
}
