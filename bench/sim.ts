/**
 * The simulator's own throughput, so the other benchmarks can show it is not their bottleneck:
 * originate (app) + answer + hang-up cycles per second through the real ARI REST and websocket, and
 * websocket events delivered per second. Goal: >= 2,000 call cycles/s on 2 cores.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { Simulator } from '../src/sim/index.js';
import { nowMs } from './support.js';

export async function run(): Promise<Record<string, unknown>> {
  const sim = await Simulator.start({ endpoints: { 'PJSIP/bench': { kind: 'answer', afterMs: 0 } } });
  const auth = `Basic ${Buffer.from('agentgate:secret').toString('base64')}`;
  const ws = new WebSocket(`${sim.ariUrl.replace('http', 'ws')}/ari/events?app=bench&api_key=agentgate:secret`);
  await new Promise((r) => ws.once('open', r));
  let events = 0;
  const waiters = new Map<string, { type: string; resolve: () => void }>();
  ws.on('message', (data) => {
    events++;
    const e = JSON.parse(String(data)) as { type: string; channel?: { id: string } };
    const id = e.channel?.id;
    if (!id) return;
    const w = waiters.get(id);
    if (w && w.type === e.type) {
      waiters.delete(id);
      w.resolve();
    }
  });
  const wait = (id: string, type: string): Promise<void> => new Promise((resolve) => waiters.set(id, { type, resolve }));
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(sim.ariUrl);
  const call = (method: string, path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method, path, agent, headers: { Authorization: auth } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  let seq = 0;
  const cycle = async (): Promise<void> => {
    const id = `b-${seq++}`;
    const started = wait(id, 'StasisStart');
    await call('POST', `/ari/channels?endpoint=PJSIP%2Fbench&app=bench&channelId=${id}`);
    await started;
    const destroyed = wait(id, 'ChannelDestroyed');
    await call('DELETE', `/ari/channels/${id}`);
    await destroyed;
  };
  const measure = async (ms: number, concurrency: number): Promise<{ cycles: number; seconds: number; events: number }> => {
    let cycles = 0;
    const e0 = events;
    const t0 = nowMs();
    const end = t0 + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (nowMs() < end) {
          await cycle();
          cycles++;
        }
      }),
    );
    return { cycles, seconds: (nowMs() - t0) / 1000, events: events - e0 };
  };
  await measure(1000, 32); // warm-up
  const r = await measure(5000, 32);
  ws.close();
  agent.destroy();
  await sim.stop();
  const figures = {
    concurrency: 32,
    callCyclesPerSec: Math.round(r.cycles / r.seconds),
    wsEventsPerSec: Math.round(r.events / r.seconds),
    goal: r.cycles / r.seconds >= 2000 ? 'met (>= 2,000 cycles/s)' : 'MISSED (< 2,000 cycles/s)',
  };
  process.stdout.write(
    `simulator: ${figures.callCyclesPerSec} originate+answer+hangup cycles/s, ${figures.wsEventsPerSec} websocket events/s (32 concurrent) — ${figures.goal}\n`,
  );
  return figures;
}
