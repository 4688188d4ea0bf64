/**
 * Queue operations end to end: the real queue service against the simulator's AMI over TCP, with the
 * memory Store and Redis. Assertions are on the simulator's app_queue members and on every AMI
 * action it received.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig, type Config } from '../../../src/config/load.js';
import { createPolicyHolder } from '../../../src/app/policy-holder.js';
import { startQueueService, type QueueService } from '../../../src/app/queue-service.js';
import { systemClock } from '../../../src/ports/clock.js';
import { createAriChannelLookup } from '../../../src/adapters/ari/channel-lookup.js';
import { createAmiQueueControls } from '../../../src/adapters/ami/queue-control.js';
import { silentLogger } from '../../../src/log.js';
import type { Store } from '../../../src/ports/store.js';
import { makeStore, until, type StoreKind } from '../../support/dispatch-harness.js';
import { uniquePrefix, deletePrefix } from '../../support/redis.js';

function config(sim: Simulator, instance = 'q-1'): Config {
  return validateConfig({
    instance: { id: instance },
    servers: [
      {
        name: 'pbx1',
        // ARI only to check feature-code channels (GET /channels/{id}): no dispatch service here.
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret' },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret', actionTimeoutMs: 1000 },
      },
    ],
    directory: {
      users: [
        { id: 'alice', name: 'Alice Agent', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1001'] },
        { id: 'bob', name: 'Bob Agent', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1003'] },
        { id: 'sam', name: 'Sam Supervisor', role: 'supervisor', scope: 'call_center_supervisor', extensions: ['1005'] },
      ],
      groups: [{ id: 'team', members: ['alice', 'bob'], supervisors: ['sam'] }],
      extensions: [
        { id: '1001', interface: 'PJSIP/1001' },
        { id: '1003', interface: 'PJSIP/1003' },
        { id: '1005', interface: 'PJSIP/1005' },
      ],
      queues: [{ id: 'support' }, { id: 'sales' }],
      grants: [
        { id: 'self', subject: 'group:team', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['queue:support'] },
        { id: 'own-alice', subject: 'user:alice', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:alice'] },
        { id: 'own-bob', subject: 'user:bob', actions: ['login', 'logout', 'pause', 'unpause'], targets: ['user:bob'] },
        {
          id: 'sam-team',
          subject: 'user:sam',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['group:team', 'queue:support', 'queue:sales'],
        },
      ],
    },
  });
}

async function start(sim: Simulator, store: Store, instance = 'q-1'): Promise<QueueService> {
  const c = config(sim, instance);
  const channels = createAriChannelLookup(c.servers);
  const q = await startQueueService({
    pbx: createAmiQueueControls(c.servers, { instanceId: c.instance.id, logger: silentLogger() }),
    servers: c.servers,
    store,
    policy: createPolicyHolder(c.directory),
    clock: systemClock(),
    logger: silentLogger(),
    channels,
    featureContexts: c.featureCodes.contexts,
  });
  return {
    ...q,
    async stop() {
      await q.stop();
      channels.close();
    },
  };
}

const amiActions = (sim: Simulator, name: string): number =>
  sim.ami.received.filter((a) => a.action.toLowerCase() === name.toLowerCase()).length;

for (const kind of ['memory', 'redis'] as StoreKind[]) {
  describe(`queue operations (${kind} Store)`, () => {
    let sim: Simulator;
    let store: Store;
    let cleanup: () => Promise<void>;
    let q: QueueService;
    beforeEach(async () => {
      sim = await Simulator.start();
      ({ store, cleanup } = await makeStore(kind));
      q = await start(sim, store);
    });
    afterEach(async () => {
      await q.stop();
      await sim.stop();
      await cleanup();
    });

    it('a supervisor logs an agent in, pauses with a reason, sets a penalty, logs out: the PBX follows and so does member state', async () => {
      const r = await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'http', ip: '127.0.0.1' });
      expect(r.ami.message).toBe('Added interface to queue');
      expect(sim.queues.members('support')).toMatchObject([{ interface: 'PJSIP/1001', memberName: 'Alice Agent', paused: false }]);
      await q.execute({
        actor: 'sam',
        action: 'pause',
        extension: '1001',
        queue: 'support',
        reason: 'Lunch break',
        source: 'http',
        ip: '127.0.0.1',
      });
      await q.execute({
        actor: 'sam',
        action: 'penalty',
        extension: '1001',
        queue: 'support',
        penalty: 3,
        source: 'http',
        ip: '127.0.0.1',
      });
      expect(sim.queues.members('support')[0]).toMatchObject({ paused: true, pausedReason: 'Lunch break', penalty: 3 });
      await until(() => q.members({ queue: 'support' })[0]?.penalty === 3, 2000, 'member state from events');
      expect(q.members({ queue: 'support' })[0]).toMatchObject({
        extension: '1001',
        user: 'alice',
        paused: true,
        pausedReason: 'Lunch break',
      });
      await q.execute({ actor: 'sam', action: 'logout', extension: '1001', queue: 'support', source: 'http', ip: '127.0.0.1' });
      expect(sim.queues.members('support')).toEqual([]);
      const again = await q.execute({
        actor: 'sam',
        action: 'logout',
        extension: '1001',
        queue: 'support',
        source: 'http',
        ip: '127.0.0.1',
      });
      expect(again.ami.alreadyDone).toBe(true);
      const audit = await store.queryAudit({ kind: 'queue-op', actor: 'sam' });
      expect(audit.map((a) => a.action)).toEqual(['logout', 'logout', 'penalty', 'pause', 'login']);
    });

    it('login already paused is ONE QueueAdd with Paused and Reason, never add-then-pause', async () => {
      await q.execute({
        actor: 'alice',
        action: 'login',
        extension: '1001',
        queue: 'support',
        paused: true,
        reason: 'wrap-up',
        source: 'dialplan',
      });
      const adds = sim.ami.received.filter((a) => a.action === 'QueueAdd');
      expect(adds).toHaveLength(1);
      expect(amiActions(sim, 'QueuePause')).toBe(0);
      expect(sim.queues.members('support')[0]).toMatchObject({ paused: true, pausedReason: 'wrap-up' });
    });

    it('a denied request never reaches AMI and names the missing grant', async () => {
      const before = sim.ami.received.length;
      await expect(
        q.execute({ actor: 'alice', action: 'login', extension: '1003', queue: 'support', source: 'http', ip: '127.0.0.1' }),
      ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN' });
      await expect(
        q.execute({ actor: 'alice', action: 'login', extension: '1001', queue: 'sales', source: 'http', ip: '127.0.0.1' }),
      ).rejects.toMatchObject({
        code: 'AGENTGATE_ERR_FORBIDDEN',
        message: expect.stringContaining('queue:sales') as unknown as string,
      });
      expect(sim.ami.received.slice(before).map((a) => a.action)).toEqual([]);
      expect(sim.queues.members('support')).toEqual([]);
      expect((await store.queryAudit({ result: 'denied' })).length).toBe(2);
    });

    it("Asterisk's own errors come back as distinct codes", async () => {
      await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
      await expect(
        q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' }),
      ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_QUEUE_ALREADY_MEMBER' });
      await expect(
        q.execute({ actor: 'sam', action: 'pause', extension: '1003', queue: 'support', source: 'dialplan' }),
      ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_QUEUE_INTERFACE_NOT_FOUND' });
    });

    it('a reason with CR/LF is refused before the socket: no extra header ever arrives', async () => {
      await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
      const before = sim.ami.received.length;
      await expect(
        q.execute({ actor: 'sam', action: 'pause', extension: '1001', reason: 'lunch\r\nQueue: sales', source: 'dialplan' }),
      ).rejects.toMatchObject({ code: 'AGENTGATE_ERR_CRLF', field: 'reason' });
      expect(sim.ami.received.length).toBe(before);
      expect(sim.ami.received.every((a) => a.headers.every(([, v]) => !/[\r\n]/.test(v)))).toBe(true);
      expect(sim.queues.members('support')[0]?.paused).toBe(false);
    });

    it('feature code *41 from a phone logs its owner in (actor from the channel, not from a header)', async () => {
      await sim.dialExtension({ from: 'PJSIP/1003', context: 'from-internal', exten: '*41' });
      await until(() => sim.queues.members('support').length === 1, 3000, 'bob logged in');
      expect(sim.queues.members('support')[0]).toMatchObject({ interface: 'PJSIP/1003', memberName: 'Bob Agent' });
      await until(async () => (await store.queryAudit({ actor: 'bob', result: 'ok' })).length === 1, 2000, 'audited');
    });

    it('AMI dropped: an action fails at once with a clear error; after reconnect member state matches QueueStatus', async () => {
      await q.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
      sim.ami.dropConnections();
      await expect(q.execute({ actor: 'sam', action: 'pause', extension: '1001', source: 'dialplan' })).rejects.toMatchObject({
        code: 'AGENTGATE_ERR_AMI_DISCONNECTED',
      });
      // Meanwhile the PBX changed (someone else logged bob in).
      sim.queues.add({ queue: 'support', interface: 'PJSIP/1003', membername: 'Bob Agent' });
      await until(() => q.connections()[0]!.connected, 5000, 'reconnected');
      await until(() => q.members({ queue: 'support' }).length === 2, 3000, 'state re-read');
      expect(
        q
          .members({ queue: 'support' })
          .map((m) => m.interface)
          .sort(),
      ).toEqual(['PJSIP/1001', 'PJSIP/1003']);
      await q.execute({ actor: 'sam', action: 'pause', extension: '1001', source: 'dialplan' });
      expect(amiActions(sim, 'QueuePause')).toBe(1);
    });
  });
}

describe('feature codes with two agentgate instances sharing Redis', () => {
  it('are applied once', async () => {
    const sim = await Simulator.start();
    const prefix = uniquePrefix();
    const a = await makeStore('redis', { prefix });
    const b = await makeStore('redis', { prefix });
    const qa = await start(sim, a.store, 'inst-a');
    const qb = await start(sim, b.store, 'inst-b');
    try {
      await sim.dialExtension({ from: 'PJSIP/1001', context: 'from-internal', exten: '*41' });
      await until(() => sim.queues.members('support').length === 1, 3000, 'logged in');
      await new Promise((r) => setTimeout(r, 300));
      expect(amiActions(sim, 'QueueAdd')).toBe(1);
    } finally {
      await qa.stop();
      await qb.stop();
      await sim.stop();
      await a.cleanup();
      await b.cleanup();
      await deletePrefix(prefix);
    }
  });
});
