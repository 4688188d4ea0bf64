/**
 * Several Asterisk servers, each with its own AMI: an operation lands on the server of its
 * extension; and the HTTP API believes X-Forwarded-For only from a configured trusted proxy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';

const sims: Simulator[] = [];
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  for (const s of sims.splice(0)) await s.stop();
  daemon = undefined;
});

function directory(): unknown {
  return {
    users: [
      { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: { ipAllow: ['10.9.%.%'] } },
      { id: 'ann', name: 'Ann', role: 'agent', scope: 'call_center_agent', extensions: ['1001'] },
      { id: 'ben', name: 'Ben', role: 'agent', scope: 'call_center_agent', extensions: ['2001'] },
    ],
    extensions: [
      { id: '1001', interface: 'PJSIP/1001', server: 'east' },
      { id: '2001', interface: 'PJSIP/2001', server: 'west' },
    ],
    queues: [
      { id: 'support', server: 'east' },
      { id: 'sales', server: 'west' },
    ],
    grants: [
      {
        id: 'olivia-all',
        subject: 'user:olivia',
        actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
        targets: ['user:ann', 'user:ben', 'queue:support', 'queue:sales'],
      },
    ],
  };
}

describe('several Asterisk servers', () => {
  it('each operation goes to the AMI of its extension server; a queue on the other server is refused before AMI', async () => {
    const east = await Simulator.start();
    const west = await Simulator.start();
    sims.push(east, west);
    const config = validateConfig({
      instance: { id: 'multi' },
      servers: [
        { name: 'east', ami: { host: '127.0.0.1', port: east.amiPort, username: 'agentgate', secret: 'secret' } },
        { name: 'west', ami: { host: '127.0.0.1', port: west.amiPort, username: 'agentgate', secret: 'secret' } },
      ],
      http: { enabled: false },
      directory: directory(),
    });
    daemon = await startDaemon(config, { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
    await daemon.queue.execute({ actor: 'olivia', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
    await daemon.queue.execute({ actor: 'olivia', action: 'login', extension: '2001', queue: 'sales', source: 'dialplan' });
    expect(east.queues.members('support').map((m) => m.interface)).toEqual(['PJSIP/1001']);
    expect(west.queues.members('sales').map((m) => m.interface)).toEqual(['Local/static@agents', 'PJSIP/2001']); // the static member of sales, then ben
    expect(west.ami.received.some((a) => a.action === 'QueueAdd' && a.headers.some(([, v]) => v === 'PJSIP/1001'))).toBe(false);
    const before = east.ami.received.length + west.ami.received.length;
    await expect(
      daemon.queue.execute({ actor: 'olivia', action: 'login', extension: '1001', queue: 'sales', source: 'dialplan' }),
    ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
    expect(east.ami.received.length + west.ami.received.length).toBe(before);
    expect(daemon.queue.connections().map((c) => [c.server, c.connected])).toEqual([
      ['east', true],
      ['west', true],
    ]);
  });
});

describe('trusted proxies', () => {
  it('X-Forwarded-For is believed only from a configured proxy', async () => {
    const sim = await Simulator.start();
    sims.push(sim);
    const build = async (trustedProxies: string[]): Promise<Daemon> =>
      startDaemon(
        validateConfig({
          instance: { id: 'proxy' },
          servers: [
            { name: 'east', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' } },
            { name: 'west', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' } },
          ],
          http: { enabled: true, host: '127.0.0.1', port: 0, trustedProxies },
          directory: directory(),
        }),
        { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() },
      );
    // olivia may only come from 10.9.x.x; the test client is 127.0.0.1.
    daemon = await build([]);
    let token = await daemon.tokens.issue('olivia', 't');
    const ask = (d: Daemon, t: string) =>
      d.http!.inject({
        method: 'GET',
        url: '/v1/me/capabilities',
        headers: { authorization: `Bearer ${t}`, 'x-forwarded-for': '10.9.0.7' },
      });
    expect((await ask(daemon, token)).statusCode).toBe(403); // not a trusted proxy: the header is ignored
    await daemon.stop();
    daemon = await build(['127.0.0.1']);
    token = await daemon.tokens.issue('olivia', 't');
    expect((await ask(daemon, token)).statusCode).toBe(200);
  });
});
