/**
 * The ari-client private fields agentgate relies on (src/adapters/ari/client-internals.ts), checked
 * against the installed ari-client: this fails loudly when a new version moves `_ws` or changes the
 * socket, instead of the keepalive and the frame takeover silently doing nothing.
 */
import ari from 'ari-client';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { clientWebSocket, withoutSwaggerNotice } from '../../../src/adapters/ari/client-internals.js';

const require = createRequire(import.meta.url);

describe('ari-client internals (checked against ari-client 2.2.0 and its bundled ws 6.2.7)', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
  });

  it('the installed versions are the ones client-internals.ts was checked against', () => {
    expect((require('ari-client/package.json') as { version: string }).version).toBe('2.2.0');
    expect((require('ari-client/node_modules/ws/package.json') as { version: string }).version).toMatch(/^6\./);
  });

  it('a connected client keeps its websocket in `_ws`, with the methods agentgate uses and a message listener to take over', async () => {
    sim = await Simulator.start();
    const client = await withoutSwaggerNotice(() => ari.connect(sim!.ariUrl, 'agentgate', 'secret'));
    expect(clientWebSocket(client)).toBeUndefined(); // not started yet
    await client.start('agentgate');
    const ws = clientWebSocket(client)!;
    expect(ws.readyState).toBe(1);
    expect(ws.listenerCount('message')).toBeGreaterThan(0);
    client.stop();
  });

  it('a `_ws` that is not a websocket is refused with a message naming the file to update', () => {
    expect(() => clientWebSocket({ _ws: {} } as never)).toThrow(/ari-client internals changed.*client-internals\.ts/);
  });
});
