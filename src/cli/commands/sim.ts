/**
 * `agentgate sim [--ari-port 8088] [--ami-port 5038]`: the Asterisk simulator on its own, so any ARI
 * or AMI client (ari-client, asterisk-manager, curl, telnet) can be pointed at it. Ctrl-C stops it.
 */
import { parse, portFlag, UsageError } from '../args.js';
import { Simulator } from '../../sim/index.js';

export const USAGE = `usage: agentgate sim [--ari-port 8088] [--ami-port 5038] [--host 127.0.0.1]
  The Asterisk simulator alone (ARI REST + websocket, AMI TCP); port 0 = any free port. Ctrl-C stops it.
`;

const OPTIONS = { 'ari-port': { type: 'string' }, 'ami-port': { type: 'string' }, host: { type: 'string' } } as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const ariPort = portFlag('ari-port', values['ari-port'], 8088);
  const amiPort = portFlag('ami-port', values['ami-port'], 5038);
  const sim = await Simulator.start({ ariPort, amiPort, host: values.host ?? '127.0.0.1' });
  process.stdout.write(
    [
      `Asterisk simulator running`,
      `  ARI  ${sim.ariUrl}/ari   (user agentgate, password secret; websocket ${sim.ariUrl.replace('http', 'ws')}/ari/events?app=agentgate)`,
      `  AMI  127.0.0.1:${sim.amiPort}   (user agentgate, secret secret)`,
      `  endpoints: PJSIP/1001 answers after 1 s, PJSIP/1002 rings, PJSIP/1003 busy, PJSIP/1004 offline; Local/<answer|answer1s|ring|busy|congestion|noanswer|unavail>@agents`,
      `  queues: support (ringall), sales (rrmemory, static member Local/static@agents)`,
      `  place a call into Stasis(agentgate,dispatch,alice):  npx agentgate sim-call alice --ari ${sim.ariUrl}`,
      `Ctrl-C to stop.`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sim.stop();
  return 0;
}
