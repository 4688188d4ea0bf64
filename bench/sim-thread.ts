/**
 * The simulator in a worker thread of its own (bench/sim-worker.ts), for the benchmarks: a real
 * Asterisk runs on its own CPU, so agentgate's figures should not pay for the simulator's work.
 */
import { Worker } from 'node:worker_threads';

export interface SimHandle {
  worker: Worker;
  ariUrl: string;
  amiPort: number;
  request(msg: Record<string, unknown>, ev: string): Promise<Record<string, unknown>>;
  dial(agent: string): Promise<string>;
  onBridged(f: (callId: string) => void): void;
}

export async function startSimWorker(measure: boolean): Promise<SimHandle> {
  // tsx's loader is registered per thread: the worker registers it before importing the TypeScript.
  const entry = new URL('./sim-worker.ts', import.meta.url).href;
  const worker = new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData: { measure },
  });
  let reqSeq = 0;
  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  const once = new Map<string, (m: Record<string, unknown>) => void>();
  let bridged: (callId: string) => void = () => undefined;
  const ready = new Promise<{ ariUrl: string; amiPort: number }>((resolve) => {
    worker.on('message', (m: Record<string, unknown>) => {
      if (m.ev === 'ready') return resolve({ ariUrl: String(m.ariUrl), amiPort: Number(m.amiPort) });
      if (m.ev === 'bridged') return bridged(String(m.callId));
      if (typeof m.reqId === 'number') {
        const p = pending.get(m.reqId);
        pending.delete(m.reqId);
        return p?.(m);
      }
      const o = once.get(String(m.ev));
      once.delete(String(m.ev));
      o?.(m);
    });
  });
  const { ariUrl, amiPort } = await ready;
  return {
    worker,
    ariUrl,
    amiPort,
    request: (msg, ev) =>
      new Promise((resolve) => {
        if ('reqId' in msg) pending.set(msg.reqId as number, resolve);
        else once.set(ev, resolve);
        worker.postMessage(msg);
      }),
    dial(agent) {
      const reqId = ++reqSeq;
      return new Promise((resolve) => {
        pending.set(reqId, (m) => resolve(String(m.callId)));
        worker.postMessage({ op: 'dial', reqId, agent });
      });
    },
    onBridged(f) {
      bridged = f;
    },
  };
}
