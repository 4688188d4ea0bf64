/**
 * The CallControl port over ARI: REST requests through AriRest (timeouts, statuses, control
 * characters refused), events through AriEvents (ari-client's websocket, checked frames, keepalive,
 * reconnect for ever, ApplicationReplaced). One per Asterisk server; legs are created in `app`.
 */
import type { Logger } from 'pino';
import type { CallControl, CallEventHandlers } from '../../ports/call-control.js';
import { AriEvents } from './events.js';
import { AriRest, isGone } from './rest.js';

export interface AriCallControlOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  pingIntervalMs: number;
  restTimeoutMs: number;
  /** The websocket's lines (connected, lost, replaced, malformed frames) go here. */
  logger: Logger;
}

export function createAriCallControl(opts: AriCallControlOptions): CallControl {
  const rest = new AriRest({ url: opts.url, username: opts.username, password: opts.password, timeoutMs: opts.restTimeoutMs });
  let events: AriEvents | undefined;
  // The version of the Asterisk at this connection: asked once per (re)connect, shared by every caller.
  let version: Promise<string | undefined> | undefined;
  const readVersion = (): Promise<string | undefined> =>
    rest.asteriskInfo().then(
      (i) => i.system.version,
      (err: unknown) => {
        opts.logger.warn(
          { err: { message: err instanceof Error ? err.message : String(err) } },
          'GET /asterisk/info failed: version unknown',
        );
        return undefined;
      },
    );
  return {
    async listen(h: CallEventHandlers) {
      events = new AriEvents({
        url: opts.url,
        username: opts.username,
        password: opts.password,
        app: opts.app,
        pingIntervalMs: opts.pingIntervalMs,
        logger: opts.logger,
        onEvent: (e) => h.event(e),
        onConnected: () => {
          version = readVersion();
          h.connected();
        },
        onDisconnected: () => h.disconnected(),
      });
      await events.start();
    },
    isConnected: () => events?.isConnected() ?? false,
    asteriskVersion: () => (version ??= readVersion()),
    problem: () => (events ? events.problem() : `ARI websocket to ${opts.url} is not open yet`),
    async close() {
      await events?.stop();
      rest.close();
    },
    createChannel: (q) => rest.createChannel({ ...q, app: opts.app }),
    dial: (id, q) => rest.dial(id, q),
    hangup: (id, reason) => rest.hangup(id, reason),
    ring: (id) => rest.ring(id),
    answer: (id) => rest.answer(id),
    setVar: (id, variable, value) => rest.setVar(id, variable, value),
    continueInDialplan: (id, to) => rest.continueInDialplan(id, to),
    startMoh: (id, mohClass) => rest.startMoh(id, mohClass),
    stopMoh: (id) => rest.stopMoh(id),
    transferProgress: (id, state) => rest.transferProgress(id, state),
    play: (id, media) => rest.play(id, media),
    createBridge: (id, name) => rest.createBridge(id, name),
    addChannels: (id, channels) => rest.addChannels(id, channels),
    destroyBridge: (id) => rest.destroyBridge(id),
    listChannels: () => rest.listChannels(),
    endpoint: (tech, resource) => rest.endpoint(tech, resource),
    isGone,
  };
}
