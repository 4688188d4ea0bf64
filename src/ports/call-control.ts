/**
 * What ring-all dispatch (and the feature-code call) needs of the PBX's call control, and nothing
 * more (BullMQ's LockManager style: declare only what is used). src/adapters/ari implements it over
 * ARI REST + the event websocket; the unit tests implement it with a fake.
 *
 * What a caller must know:
 * - Requests may reach the PBX in any order when several are in flight (ARI sends them on separate
 *   keep-alive connections, issue 15): a caller whose second request depends on the first waits for
 *   the first to settle (src/app/dispatch/channel-order.ts).
 * - Every value may be refused before anything is sent (AGENTGATE_ERR_VALIDATION naming the field)
 *   when it holds a control character; a request that fails otherwise rejects with an AgentgateError
 *   (timeout, disconnected, failed). `isGone(err)` tells "the channel or bridge is already gone",
 *   which is success for a hang-up.
 * - Events come in already checked against their schema: a handler never sees a frame it must doubt.
 */

/** The fields of a channel the use cases read (the PBX sends many more). */
export interface CallChannel {
  id: string;
  name: string;
  caller?: { number: string; name: string };
}

/** Every PBX event the use cases receive. */
export type CallEvent =
  /** `replace_channel`: Asterisk's own blind transfer (a REFER it executed) made this channel to replace that one. */
  | { type: 'StasisStart'; channel: CallChannel; args: string[]; replace_channel?: CallChannel }
  | { type: 'StasisEnd'; channel: CallChannel }
  /** `peer` is the dialled channel (agentgate's leg); `dialstatus` is '' when the dial starts. */
  | { type: 'Dial'; peer: CallChannel; dialstatus: string }
  | { type: 'ChannelDestroyed'; channel: CallChannel; cause: number }
  /** `soft: true` is Asterisk's soft-hangup flag (cause 32), not a hang-up by the far end. */
  | { type: 'ChannelHangupRequest'; channel: CallChannel; cause?: number; soft?: boolean }
  /**
   * The phone of `channel` sent a REFER (its Transfer button) to `destination`, and Asterisk left it to
   * the app (PJSIP_TRANSFER_HANDLING()=ari-only on that channel): nothing happens until the app reports
   * with transferProgress. ARI's ChannelTransfer without `state` (its echoes with `state` are not passed on).
   */
  /** `destination` (the Refer-To user part) for a blind transfer; absent for an attended one (REFER with Replaces). */
  | { type: 'PhoneTransfer'; channel: CallChannel; destination?: string }
  /** The phone of `channel` put the call on hold / took it off (re-INVITE); ARI's own /hold raises neither. */
  | { type: 'ChannelHold'; channel: CallChannel }
  | { type: 'ChannelUnhold'; channel: CallChannel }
  /**
   * Asterisk blind-transferred on its own (a REFER on a channel without ari-only): `channel` REFERred,
   * its bridge peer now talks to `replace_channel` (a new Local channel running `exten@context`).
   */
  | {
      type: 'BridgeBlindTransfer';
      channel: CallChannel;
      exten: string;
      context: string;
      result: string;
      replace_channel?: CallChannel;
      transferee?: CallChannel;
    };

/** What the app reports to a REFERring phone (a NOTIFY each): 100 Trying, 200 OK, 603 Decline, 503. */
export type TransferProgress = 'channel_progress' | 'channel_answered' | 'channel_declined' | 'channel_unavailable';

/**
 * The channel variable that makes a PJSIP channel's REFERs reach the app (PhoneTransfer) instead of
 * Asterisk executing them (Asterisk 20.13.0 / 21.8.0 / 22.3.0 and later). Set in the create body of
 * every PJSIP leg, so no REFER can come before it; not set when the Asterisk is older
 * (src/app/dispatch/transfer-handling.ts).
 */
export const ARI_ONLY_TRANSFERS: Readonly<Record<string, string>> = { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' };

export interface CallEventHandlers {
  /** One checked event. A rejection or throw is logged by the adapter; delivery goes on. */
  event(e: CallEvent): void | Promise<void>;
  /** After every (re)connect: the PBX replays nothing, so the caller reconciles. */
  connected(): void;
  disconnected(): void;
}

/** Where `continue` sends a channel instead of the next priority. */
export interface DialplanTarget {
  context: string;
  extension: string;
  priority: number;
}

export interface CallControl {
  /**
   * Opens the event stream and resolves once connected the first time; reconnects for ever after.
   * Rejects only with AGENTGATE_ERR_CONFIG (credentials refused, no ARI at the URL).
   */
  listen(handlers: CallEventHandlers): Promise<void>;
  isConnected(): boolean;
  /** Why calls cannot reach this instance now (stream down, app taken by another client, app not listed), or undefined. */
  problem(): string | undefined;
  /** Closes the stream and the REST connections. */
  close(): Promise<void>;
  /**
   * The Asterisk version (`22.7.0`), read once per connection (GET /asterisk/info, asked again after
   * each reconnect: it may be another Asterisk then). Undefined when it cannot be read. Never rejects.
   */
  asteriskVersion(): Promise<string | undefined>;

  /** Creates a leg in this app (StasisStart arrives before it rings), id chosen by the caller. */
  createChannel(q: {
    endpoint: string;
    channelId: string;
    appArgs: string;
    originator?: string;
    /** Set as the channel is made (the create body): before anything can happen on it. */
    variables?: Record<string, string>;
  }): Promise<unknown>;
  /** Valid only after the created channel's StasisStart (409 before). */
  dial(id: string, q: { caller?: string; timeout: number }): Promise<void>;
  hangup(id: string, reason?: 'normal' | 'answered_elsewhere'): Promise<void>;
  ring(id: string): Promise<void>;
  answer(id: string): Promise<void>;
  setVar(id: string, variable: string, value: string): Promise<void>;
  continueInDialplan(id: string, to?: DialplanTarget): Promise<void>;
  /**
   * Music on hold to this one channel (`mohClass` absent: Asterisk's default class). No event follows;
   * an unknown class is accepted silently, stopping when nothing plays succeeds (REFERENCE.md).
   */
  startMoh(id: string, mohClass?: string): Promise<void>;
  stopMoh(id: string): Promise<void>;
  /** Reports on a phone's REFER (PhoneTransfer): the phone gets the matching NOTIFY. After a final state, a no-op. */
  transferProgress(id: string, state: TransferProgress): Promise<void>;
  /** Plays `media` (e.g. `sound:beep`) on the channel; resolves when the playback started. */
  play(id: string, media: string): Promise<unknown>;
  createBridge(bridgeId: string, name: string): Promise<unknown>;
  /** Several channels in one request. */
  addChannels(bridgeId: string, channels: string[]): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  /** Every live channel and its state (`Up`, `Ringing`, ...). */
  listChannels(): Promise<Array<{ id: string; state: string }>>;
  /** One endpoint's state (`online`, `offline`, `unknown`). */
  endpoint(tech: string, resource: string): Promise<{ state: string }>;
  /** The error says the channel or bridge is already gone (done, for a hang-up). */
  isGone(err: unknown): boolean;
}
