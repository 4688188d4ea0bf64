/**
 * Every reach into ari-client's private state, in one place. ari-client is a required dependency, but
 * it offers no public way to (a) get at its websocket (to read event frames ourselves, to see pongs
 * and to drop a silent socket) or (b) connect without printing a notice on stdout.
 *
 * Checked against ari-client 2.2.0 (lib/client.js keeps its socket in `this._ws`, created by its own
 * bundled ws 6.2.7 — not the ws 8.x of agentgate's package.json, which has `pause()`; ws 6 has none
 * and none is needed here). test/integration/ari/client-internals.test.ts fails loudly when a new
 * version moves `_ws` or changes the socket's shape: update this file, nothing else reads them.
 */
import type ari from 'ari-client';

type AriClient = Awaited<ReturnType<typeof ari.connect>>;

/** The part of ari-client's websocket (ws 6.2.7) agentgate uses. */
export interface ClientWebSocket {
  on(ev: 'pong', f: () => void): void;
  on(ev: 'message', f: (data: unknown) => void): void;
  removeAllListeners(ev: 'message'): void;
  listenerCount(ev: string): number;
  terminate(): void;
  readyState: number;
}

function isWebSocket(v: unknown): v is ClientWebSocket {
  const w = v as Partial<ClientWebSocket> | null;
  return (
    typeof w === 'object' &&
    w !== null &&
    typeof w.on === 'function' &&
    typeof w.removeAllListeners === 'function' &&
    typeof w.terminate === 'function' &&
    typeof w.readyState === 'number'
  );
}

/**
 * ari-client's current websocket (a new one after each reconnect), or undefined before the first
 * connect. Throws when the client has a `_ws` that is not a websocket: the field moved.
 */
export function clientWebSocket(client: AriClient | undefined): ClientWebSocket | undefined {
  if (client === undefined) return undefined;
  const ws = (client as unknown as { _ws?: unknown })._ws;
  if (ws === undefined) return undefined;
  if (!isWebSocket(ws))
    throw new Error(
      'ari-client internals changed: `_ws` is not a websocket (checked against ari-client 2.2.0; see src/adapters/ari/client-internals.ts)',
    );
  return ws;
}

/**
 * Replaces ari-client's frame handler on `ws` with `onFrame`. ari-client's own throws on malformed
 * JSON or an event type its events.json does not declare, and builds a Resource per channel in every
 * event (garbage behind the p99 latency). A throw from `onFrame` would escape into ws's socket
 * handler and end the process: it goes to `onError` instead.
 */
export function takeOverFrames(ws: ClientWebSocket, onFrame: (data: unknown) => void, onError: (err: unknown) => void): void {
  ws.removeAllListeners('message');
  ws.on('message', (data) => {
    try {
      onFrame(data);
    } catch (err) {
      onError(err);
    }
  });
}

/**
 * Runs `connect` with ari-client's swagger loader notice ("deprecated version of Swagger", printed on
 * stdout for Asterisk's correct api-docs) dropped: agentgate's stdout is pino JSON. Other lines pass.
 */
export async function withoutSwaggerNotice<T>(connect: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = (...args: unknown[]): void => {
    if (args.some((a) => JSON.stringify(a)?.includes('deprecated version of Swagger'))) return;
    log(...args);
  };
  try {
    return await connect();
  } finally {
    console.log = log;
  }
}
