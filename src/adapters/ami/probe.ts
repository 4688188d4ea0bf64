/**
 * A one-shot AMI session for `agentgate doctor`: connect, read the banner, log in, send a few
 * actions and watch for events, then log off. It is not the daemon's AMI client (src/adapters/ami/
 * client.ts, which reconnects forever and hides a failed login behind retries): here every outcome
 * must be told apart — unreachable, not AMI, secret refused, permission denied — to say what to fix.
 *
 * Values are checked before they reach the socket (a CR or LF would start a header Asterisk obeys).
 */
import { connect, type Socket } from 'node:net';

export type AmiMessage = Record<string, string>;

/** C0 controls and DEL; TAB may pass. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function parse(block: string): AmiMessage {
  const out: AmiMessage = {};
  for (const line of block.split('\r\n')) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    if (!(k in out)) out[k] = line.slice(c + 1).trim(); // the first occurrence wins, as in Asterisk
  }
  return out;
}

export class AmiProbe {
  private buffer = '';
  private seq = 0;
  private readonly listeners = new Set<(m: AmiMessage) => void>();
  private closed: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    /** The first line Asterisk sends, e.g. `Asterisk Call Manager/11.0.0`. */
    readonly banner: string,
    rest: string,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d.toString('utf8')));
    const end = (err?: Error): void => {
      this.closed ??= err ?? new Error('connection closed');
    };
    socket.on('close', () => end());
    socket.on('error', end);
    if (rest) this.onData(rest);
  }

  /** Connects and reads the banner line; rejects on a network error or after timeoutMs. */
  static open(host: string, port: number, timeoutMs: number): Promise<AmiProbe> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      let text = '';
      const timer = setTimeout(() => fail(new Error(`no banner within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onData = (d: Buffer): void => {
        text += d.toString('utf8');
        const nl = text.indexOf('\r\n');
        if (nl < 0) {
          if (text.length > 1024) fail(new Error('no banner line'));
          return;
        }
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        resolve(new AmiProbe(socket, text.slice(0, nl), text.slice(nl + 2)));
      };
      socket.on('data', onData);
      socket.once('error', fail);
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    let i: number;
    while ((i = this.buffer.indexOf('\r\n\r\n')) >= 0) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 4);
      if (block.trim() === '') continue;
      const m = parse(block);
      for (const l of [...this.listeners]) l(m);
    }
  }

  /**
   * Resolves with the first message (response or event) matching `pred` within timeoutMs, else
   * undefined. Start waiting before sending what should cause it.
   */
  waitFor(pred: (m: AmiMessage) => boolean, timeoutMs: number): Promise<AmiMessage | undefined> {
    return new Promise((resolve) => {
      const done = (m: AmiMessage | undefined): void => {
        clearTimeout(timer);
        this.listeners.delete(on);
        resolve(m);
      };
      const on = (m: AmiMessage): void => {
        if (pred(m)) done(m);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.listeners.add(on);
    });
  }

  /**
   * Sends an action and resolves with its response (matched by ActionID) and, for a list action, the
   * events up to its `…Complete` event; undefined when nothing came within timeoutMs.
   */
  async send(
    fields: Record<string, string>,
    timeoutMs: number,
    list = false,
  ): Promise<{ response: AmiMessage; events: AmiMessage[] } | undefined> {
    if (this.closed) throw this.closed;
    const id = `agentgate-doctor-${process.pid}-${++this.seq}`;
    let text = '';
    for (const [k, v] of Object.entries({ ...fields, ActionID: id })) {
      if (CONTROL.test(k) || CONTROL.test(v)) throw new Error(`AMI header ${k} must not contain control characters`);
      text += `${k}: ${v}\r\n`;
    }
    const events: AmiMessage[] = [];
    let response: AmiMessage | undefined;
    const finished = this.waitFor((m) => {
      if (m.actionid !== id) return false;
      if (m.response !== undefined) {
        response = m;
        // A list answers Success then its events; an error ends it at once.
        return !list || m.response.toLowerCase() !== 'success';
      }
      if (m.event !== undefined) {
        if (/complete$/i.test(m.event)) return true;
        events.push(m);
      }
      return false;
    }, timeoutMs);
    this.socket.write(`${text}\r\n`);
    const last = await finished;
    return last === undefined || response === undefined ? undefined : { response, events };
  }

  close(): void {
    this.socket.destroy();
  }
}
