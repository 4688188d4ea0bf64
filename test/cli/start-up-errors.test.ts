/**
 * Issue 16 items 5 and 8 as an admin meets them: `agentgate run` as its own process (src/cli/bin.ts),
 * and the daemon's /readyz, against the simulator (whose ARI asks for credentials before the
 * api-docs, as Asterisk's ast_ari_callback does).
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { Simulator } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogs } from '../support/log-capture.js';
import { writeConfigFile } from '../support/daemon-process.js';
import { spawnCli } from '../support/cli.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function config(ari: { url: string; password?: string }, amiPort: number, http = false): Record<string, unknown> {
  return {
    instance: { id: `startup-${Math.random().toString(36).slice(2, 8)}` },
    servers: [
      {
        name: 'pbx1',
        ari: { url: ari.url, username: 'agentgate', password: ari.password ?? 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 },
        ami: { host: '127.0.0.1', port: amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 1000 },
      },
    ],
    http: { enabled: http, host: '127.0.0.1', port: 0 },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          extensions: ['1001'],
          addresses: ['PJSIP/1001'],
          flags: { inbound: true },
        },
      ],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: [{ id: 'support' }],
    },
  };
}

function runDaemon(cfg: Record<string, unknown>): ReturnType<typeof spawnCli> {
  const f = writeConfigFile(cfg);
  cleanups.push(f.remove);
  const p = spawnCli(['run', '-c', f.file]);
  cleanups.push(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });
  return p;
}

describe('#16.5 start-up errors a user can act on', () => {
  it('a wrong ARI password ends start-up with exit 1 and a config error naming servers[0].ari.password and the URL, no stack', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const p = runDaemon(config({ url: sim.ariUrl, password: 'wrong' }, sim.amiPort));
    expect(await p.exited).toBe(1);
    const out = p.output();
    expect(out).toContain('AGENTGATE_ERR_CONFIG');
    expect(out).toMatch(/servers\[0\]\.ari\.password/);
    expect(out).toContain(sim.ariUrl);
    expect(out).not.toMatch(/swagger|401 : undefined|\n\s+at /);
    expect(out).not.toContain('wrong'); // the password itself is never printed
  });

  it('ARI and AMI unreachable at start: each retried with a log line naming its address; the daemon connects once they are up', async () => {
    const [ariPort, amiPort] = [await freePort(), await freePort()];
    const p = runDaemon(config({ url: `http://127.0.0.1:${ariPort}` }, amiPort));
    // Before: the AMI side retried in silence (no line at all).
    await vi.waitFor(() => expect(p.output()).toContain(`AMI at 127.0.0.1:${amiPort} not reachable`), { timeout: 20_000, interval: 100 });
    await vi.waitFor(() => expect(p.output()).toContain(`ARI at http://127.0.0.1:${ariPort} not reachable`), {
      timeout: 20_000,
      interval: 100,
    });
    expect(p.child.exitCode).toBeNull();
    const sim = await Simulator.start({ ariPort, amiPort });
    cleanups.push(() => sim.stop());
    await vi.waitFor(() => expect(p.output()).toMatch(/"msg":"agentgate started"/), { timeout: 30_000, interval: 100 });
    expect(p.output()).toContain('ARI websocket connected');
    await vi.waitFor(() => expect(p.output()).toContain('"msg":"AMI connected"'), { timeout: 10_000, interval: 100 });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 60_000);
});

describe('#16.8 a second instance with the same ARI app', () => {
  it('the instance that received ApplicationReplaced logs an error and /readyz is 503 naming ari:pbx1 and the takeover', async () => {
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    const logs = captureLogs();
    const daemon = await startDaemon(validateConfig(config({ url: sim.ariUrl }, sim.amiPort, true)), { logger: logs.logger });
    cleanups.push(() => daemon.stop());
    await vi.waitFor(async () => expect((await fetch(`${daemon.httpUrl}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 50 });

    // Another client (a second agentgate, a test script) opens a websocket for the same app.
    const thief = new WebSocket(`${sim.ariUrl.replace('http', 'ws')}/ari/events?app=agentgate&api_key=agentgate:secret`);
    cleanups.push(() => thief.terminate());
    await new Promise((r) => thief.once('open', r));

    await vi.waitFor(
      async () => {
        const res = await fetch(`${daemon.httpUrl}/readyz`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as { failing: Array<{ component: string; reason: string }> };
        expect(body.failing).toEqual([
          { component: 'ari:pbx1', reason: expect.stringMatching(/taken over by another websocket .*ApplicationReplaced/) as unknown },
        ]);
      },
      { timeout: 5000, interval: 50 },
    );
    expect(logs.lines.some((l) => l.level === 50 && /ApplicationReplaced/.test(String(l.msg)))).toBe(true);
    // It does not fight: the other websocket keeps the app, the daemon's own socket is closed.
    await vi.waitFor(() => expect(sim.ari.websocketCount()).toBe(1), { timeout: 3000, interval: 20 });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    expect(call.failed).toBe(false); // Stasis() went to the other holder; the daemon did not take it back
    expect(sim.pbx.channels().filter((c) => c.name.startsWith('PJSIP/1001'))).toEqual([]);
    await call.hangup();
  });
});
