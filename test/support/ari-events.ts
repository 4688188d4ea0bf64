/**
 * The ARI event adapter connected to a simulator, recording what a test asserts on: event types,
 * StasisStart channel ids, warning messages, connects and drops.
 */
import { AriEvents, type AriEventsOptions } from '../../src/adapters/ari/events.js';
import { silentLogger } from '../../src/log.js';
import type { Simulator } from '../../src/sim/index.js';

export interface RecordedEvents {
  events: AriEvents;
  types: string[];
  starts: string[];
  warnings: string[];
  connects: number;
  drops: number;
}

/** Starts AriEvents against sim; `onEvent` (optional) runs after the recording and may throw. */
export async function recordEvents(
  sim: Simulator,
  over: Partial<Pick<AriEventsOptions, 'pingIntervalMs' | 'restartAfterGiveUpMs' | 'onEvent'>> = {},
): Promise<RecordedEvents> {
  const logger = silentLogger();
  const rec = { types: [] as string[], starts: [] as string[], warnings: [] as string[], connects: 0, drops: 0 } as RecordedEvents;
  logger.warn = ((obj: unknown, msg?: string) =>
    void rec.warnings.push(typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`)) as typeof logger.warn;
  rec.events = new AriEvents({
    url: sim.ariUrl,
    username: 'agentgate',
    password: 'secret',
    app: 'agentgate',
    pingIntervalMs: over.pingIntervalMs ?? 1000,
    restartAfterGiveUpMs: over.restartAfterGiveUpMs,
    logger,
    onEvent: (e) => {
      rec.types.push(String(e.type));
      if (e.type === 'StasisStart') rec.starts.push((e.channel as { id: string }).id);
      return over.onEvent?.(e);
    },
    onConnected: () => void rec.connects++,
    onDisconnected: () => void rec.drops++,
  });
  await rec.events.start();
  return rec;
}
