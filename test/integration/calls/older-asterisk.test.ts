/**
 * On an Asterisk older than 20.13.0 / 21.8.0 / 22.3.0 (no PJSIP_TRANSFER_HANDLING()), agentgate
 * creates its PJSIP legs without the variable and warns once that phone transfers are not controlled.
 * The real daemon over the simulator's ARI/AMI, the simulator reporting 22.2.0 on GET /asterisk/info.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator, type AriEvent } from '../../../src/sim/index.js';
import { validateConfig } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import { until } from '../../support/dispatch-harness.js';
import { captureLogs, type CapturedLogs } from '../../support/log-capture.js';

let sim: Simulator;
let daemon: Daemon;
let logs: CapturedLogs;

beforeAll(async () => {
  sim = await Simulator.start({ asteriskVersion: '22.2.0' });
  logs = captureLogs();
  const config = validateConfig({
    instance: { id: 'old-asterisk-test' },
    servers: [
      {
        name: 'pbx1',
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
      },
    ],
    dispatch: { answer: 'late', ringTimeoutSec: 10 },
    directory: {
      users: [
        {
          id: 'carol',
          name: 'Carol',
          role: 'agent',
          scope: 'call_center_agent',
          addresses: ['PJSIP/2002', 'PJSIP/2012'],
          flags: { inbound: true, transfer: true },
        },
      ],
    },
  });
  daemon = await startDaemon(config, { store: createMemoryStore({ clock: systemClock() }), logger: logs.logger });
});
afterAll(async () => {
  await daemon?.stop();
  await sim?.stop();
});

const NOT_CONTROLLED = /22\.2\.0 has no PJSIP_TRANSFER_HANDLING\(\).*NOT controlled by the call flags/;

describe('an Asterisk reporting 22.2.0', () => {
  it('every PJSIP leg is created without PJSIP_TRANSFER_HANDLING(); the warning is logged once, not per call', async () => {
    const atStart: Array<string | undefined> = [];
    const seen = (e: AriEvent): void => {
      const ch = (e as { channel?: { id: string; name: string } }).channel;
      if (e.type === 'StasisStart' && ch?.name.startsWith('PJSIP/20')) atStart.push(sim.pbx.variable(ch.id, 'PJSIP_TRANSFER_HANDLING()'));
    };
    sim.pbx.on('ari-event', seen);
    try {
      sim.setEndpoint('PJSIP/2002', { kind: 'answer', afterMs: 30 });
      sim.setEndpoint('PJSIP/2012', { kind: 'ring' });
      for (let i = 0; i < 2; i++) {
        const call = await sim.dialIn({ args: ['dispatch', 'carol', '10'], callerNumber: '5550100' });
        await until(() => sim.pbx.bridges().some((b) => b.channels.includes(call.id)), 5000, 'carol talking');
        expect(sim.pbx.hears(call.id)).toBe('call');
        await call.hangup();
        await until(() => sim.pbx.channels().length === 0, 3000, 'all gone');
      }
      expect(atStart).toHaveLength(4); // two devices, two calls
      expect(atStart).toEqual([undefined, undefined, undefined, undefined]);
      expect(logs.lines.filter((l) => NOT_CONTROLLED.test(String(l.msg ?? '')))).toHaveLength(1);
      expect(logs.lines.find((l) => NOT_CONTROLLED.test(String(l.msg ?? '')))).toMatchObject({ level: 40, asteriskVersion: '22.2.0' });
    } finally {
      sim.pbx.off('ari-event', seen);
    }
  });
});
