/**
 * The simulator in its own worker thread for the dispatch benchmark: it gets a core of its own, its
 * heap is not agentgate's (so heap figures are agentgate's alone), and it measures latencies on its
 * own clock: a leg's Dial ANSWER leaving the simulator → that leg's ChannelEnteredBridge arriving,
 * and → the last other leg's ChannelDestroyed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Simulator, type AriEvent } from '../src/sim/index.js';

type Msg =
  | { op: 'script'; agents: number; answerAfter: 'spread' | 'now' }
  | { op: 'dial'; reqId: number; agent: string }
  | { op: 'hangup'; callId: string }
  | { op: 'latencies'; reqId: number }
  | { op: 'stop' };

const port = parentPort!;
const sim = await Simulator.start({ recordLimit: 100 });
const answered = new Map<string, number>();
const entered = new Map<string, number>();
const lastDestroyed = new Map<string, number>();
const bridgedCallers = new Set<string>();
let measure = (workerData as { measure: boolean }).measure;
sim.pbx.on('ari-event', (e: AriEvent) => {
  const ch = (e.channel ?? e.peer) as { id?: string; name?: string } | undefined;
  const id = ch?.id;
  if (!id) return;
  if (e.type === 'ChannelEnteredBridge' && !id.includes('-leg')) {
    port.postMessage({ ev: 'bridged', callId: id });
  }
  if (!measure || !id.includes('-leg')) return;
  const t = performance.now();
  if (e.type === 'Dial' && e.dialstatus === 'ANSWER') answered.set(id, t);
  else if (e.type === 'ChannelEnteredBridge') entered.set(id, t);
  else if (e.type === 'ChannelDestroyed') {
    const base = id.slice(0, id.lastIndexOf('-leg'));
    lastDestroyed.set(`${base}|${id}`, t);
  }
});
void bridgedCallers;

async function onMessage(m: Msg): Promise<void> {
  switch (m.op) {
    case 'script':
      for (let i = 0; i < m.agents; i++) {
        sim.setEndpoint(`PJSIP/a${i}x1`, { kind: 'answer', afterMs: m.answerAfter === 'spread' ? 4000 + i * 5 : 0 });
        sim.setEndpoint(`PJSIP/a${i}x2`, { kind: 'ring' });
        sim.setEndpoint(`PJSIP/a${i}x3`, { kind: 'ring' });
      }
      port.postMessage({ ev: 'scripted' });
      break;
    case 'dial': {
      const call = await sim.dialIn({ args: ['dispatch', m.agent] });
      port.postMessage({ ev: 'dialed', reqId: m.reqId, callId: call.id });
      break;
    }
    case 'hangup':
      if (sim.pbx.channel(m.callId)) sim.pbx.remoteHangup(m.callId, 16);
      break;
    case 'latencies': {
      const toBridge: number[] = [];
      const toLastLoser: number[] = [];
      for (const [leg, t] of answered) {
        const b = entered.get(leg);
        if (b === undefined) continue;
        toBridge.push(b - t);
        const base = leg.slice(0, leg.lastIndexOf('-leg'));
        let last = 0;
        for (const [k, d] of lastDestroyed) if (k.startsWith(`${base}|`) && !k.endsWith(`|${leg}`)) last = Math.max(last, d);
        if (last > 0) toLastLoser.push(last - t);
      }
      measure = false;
      port.postMessage({ ev: 'latencies', reqId: m.reqId, toBridge, toLastLoser, channels: sim.pbx.channels().length });
      break;
    }
    case 'stop':
      await sim.stop();
      port.postMessage({ ev: 'stopped' });
      break;
  }
}
port.on('message', (m: Msg) => {
  onMessage(m).catch((err: unknown) => {
    console.error('sim worker:', err);
    process.exit(1);
  });
});
port.postMessage({ ev: 'ready', ariUrl: sim.ariUrl, amiPort: sim.amiPort });
