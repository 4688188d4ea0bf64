/**
 * Queue operations: the audible feature-code variant through Stasis, an AMI connection dropped
 * while an action is in flight, and the per-token rate limit of the HTTP API.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';
import { until } from '../../support/dispatch-harness.js';

let sim: Simulator | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  await sim?.stop();
  daemon = undefined;
  sim = undefined;
});

async function start(rateMax = 10_000): Promise<{ sim: Simulator; daemon: Daemon }> {
  sim = await Simulator.start();
  const config = validateConfig({
    instance: { id: 'ff-1' },
    servers: [
      {
        name: 'pbx1',
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret' },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 500 },
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: rateMax, timeWindowMs: 60_000 } },
    directory: {
      users: [{ id: 'bob', name: 'Bob Agent', role: 'agent', scope: 'call_center_agent', extensions: ['1003'] }],
      extensions: [{ id: '1003', interface: 'PJSIP/1003' }],
      queues: [{ id: 'support' }, { id: 'sales' }],
      grants: [
        { id: 'bob-self', subject: 'user:bob', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:bob', 'queue:support'] },
      ],
    },
  });
  daemon = await startDaemon(config, { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
  return { sim, daemon };
}

describe('queue operations: feature variant and faults', () => {
  it('Stasis(agentgate,feature,login,support) from a phone: answered, applied, a confirmation sound, AGENTGATE_RESULT=OK, back to the dialplan', async () => {
    const { sim } = await start();
    const call = await sim.dialIn({ args: ['feature', 'login', 'support'], from: 'PJSIP/1003', callerNumber: '1003' });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', answered: true, variables: { AGENTGATE_RESULT: 'OK' } });
    expect(sim.queues.members('support').map((m) => m.interface)).toEqual(['PJSIP/1003']);
    const again = await sim.dialIn({ args: ['feature', 'login', 'sales'], from: 'PJSIP/1003', callerNumber: '1003' });
    expect((await again.ended()).variables.AGENTGATE_RESULT).toBe('DENIED');
  });

  it('the daemon checks feature-code UserEvents over ARI: a forged one (another AMI client) is ignored, one from the dialplan logs the owner in', async () => {
    const { sim, daemon } = await start();
    const crm = connect(sim.amiPort, '127.0.0.1');
    try {
      crm.write(
        'Action: Login\r\nUsername: agentgate\r\nSecret: secret\r\n\r\nAction: UserEvent\r\nUserEvent: AgentGate\r\nAction : login\r\nQueue: support\r\nChannel: PJSIP/1003-0000f0a9\r\nUniqueid: made-up\r\n\r\n',
      );
      await until(async () => (await daemon.store.queryAudit({ result: 'rejected' })).length === 1, 3000, 'forged event rejected');
      expect(sim.queues.members('support')).toEqual([]);
      await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
      await until(() => sim.queues.members('support').length === 1, 3000, 'bob logged in');
    } finally {
      crm.destroy();
    }
  });

  it('AMI dropped while an action is in flight: the caller gets a clear error, never a silent success, and it is not sent twice', async () => {
    const { sim, daemon } = await start();
    sim.ami.swallowAction('QueueAdd', 1); // Asterisk never answers this one...
    const pending = daemon.queue.execute({ actor: 'bob', action: 'login', extension: '1003', queue: 'support', source: 'dialplan' });
    await until(() => sim.ami.received.some((a) => a.action === 'QueueAdd'), 2000, 'QueueAdd sent');
    sim.ami.dropConnections(); // ...and the connection drops
    await expect(pending).rejects.toMatchObject({ code: 'AGENTGATE_ERR_AMI_DISCONNECTED' });
    await until(() => daemon.queue.connections()[0]!.connected, 5000, 'reconnected');
    expect(sim.ami.received.filter((a) => a.action === 'QueueAdd')).toHaveLength(1);
  });

  it('an action Asterisk never answers fails with AGENTGATE_ERR_AMI_TIMEOUT', async () => {
    const { sim, daemon } = await start();
    sim.ami.swallowAction('QueuePause', 1);
    await expect(daemon.queue.execute({ actor: 'bob', action: 'pause', extension: '1003', source: 'dialplan' })).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_AMI_TIMEOUT',
    });
  });

  it('the HTTP API rate-limits per token: 429 AGENTGATE_ERR_RATE_LIMITED', async () => {
    const { daemon } = await start(3);
    const token = await daemon.tokens.issue('bob', 't');
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await daemon.http!.inject({ method: 'GET', url: '/v1/me/capabilities', headers: { authorization: `Bearer ${token}` } });
      codes.push(r.statusCode);
      if (r.statusCode === 429) expect(r.json()).toMatchObject({ code: 'AGENTGATE_ERR_RATE_LIMITED' });
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });
});
