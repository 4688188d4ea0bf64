/**
 * `agentgate demo` (interim, until ring-all dispatch and queue operations land): starts the
 * simulator and walks a call through it with the real client libraries — ari-client places the
 * legs, one rings and answers, a bridge joins caller and leg; asterisk-manager logs a member into a
 * queue — printing each event as a readable line.
 */
import ari from 'ari-client';
import AsteriskManager from 'asterisk-manager';
import { Simulator } from '../../sim/index.js';

export async function run(args: string[]): Promise<number> {
  const t0 = Date.now();
  const line = (s: string): void => void process.stdout.write(`+${((Date.now() - t0) / 1000).toFixed(2).padStart(5)}s  ${s}\n`);
  const sim = await Simulator.start({ endpoints: { 'PJSIP/1001': { kind: 'answer', afterMs: 1000 } } });
  line(`simulator: ARI ${sim.ariUrl}, AMI 127.0.0.1:${sim.amiPort}`);
  const client = await ari.connect(sim.ariUrl, 'agentgate', 'secret');
  client.on('StasisStart', (e, ch) => line(`StasisStart ${ch.name} args=${[...e.args].join(',')}`));
  client.on('Dial', (e) => e.dialstatus && line(`Dial ${e.peer.name} ${e.dialstatus}`));
  client.on('ChannelEnteredBridge', (e) => line(`${e.channel.name} entered bridge ${e.bridge.id}`));
  client.on('ChannelDestroyed', (e) => line(`${e.channel.name} destroyed: ${e.cause} ${e.cause_txt}`));
  await client.start('agentgate');
  await new Promise((r) => setTimeout(r, 100));
  const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
  const up = sim.waitForEvent((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER');
  const inStasis = sim.waitForEvent((e) => e.type === 'StasisStart' && (e.channel as { id: string }).id === 'leg-1');
  await client.channels.create({ endpoint: 'PJSIP/1001', app: 'agentgate', appArgs: 'leg', channelId: 'leg-1', originator: call.id });
  await inStasis;
  await client.channels.dial({ channelId: 'leg-1', caller: call.id, timeout: 15 });
  await up;
  await client.channels.answer({ channelId: call.id });
  await client.bridges.create({ type: 'mixing', bridgeId: 'demo-bridge' });
  await client.bridges.addChannel({ bridgeId: 'demo-bridge', channel: [call.id, 'leg-1'] });
  await new Promise((r) => setTimeout(r, 500));
  await call.hangup();
  await client.channels.hangup({ channelId: 'leg-1' });
  await client.bridges.destroy({ bridgeId: 'demo-bridge' });
  await client.stop();

  const ami = new AsteriskManager(sim.amiPort, '127.0.0.1', 'agentgate', 'secret', true);
  ami.on('managerevent', (e: Record<string, string>) => e.event === 'QueueMemberAdded' && line(`AMI QueueMemberAdded ${e.interface} → ${e.queue}`));
  await new Promise<void>((resolve) => ami.action({ action: 'QueueAdd', queue: 'support', interface: 'PJSIP/1001', membername: 'Alice', actionid: 'demo-1' }, () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  ami.disconnect();
  await sim.stop();
  line('demo finished');
  return args.includes('--fail') ? 1 : 0;
}
