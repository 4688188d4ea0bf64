/**
 * Per channel and bridge, the tail of the PBX requests sent to it (issue 15). A request goes out
 * once the previous request to any of its channels or bridge has answered (or failed): ARI requests
 * travel on separate keep-alive sockets and Asterisk runs them in arrival order, so only waiting for
 * the answer keeps "variable, then continue" or "AGENTGATE_ANSWERED_BY, then hang-up" in that order.
 * A request to a channel with nothing in flight is sent at once.
 */
export const chanKey = (id: string): string => `channel:${id}`;
export const bridgeKey = (id: string): string => `bridge:${id}`;

const noop = (): void => undefined;

export class ChannelOrder {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Sends `send()` once the earlier work on every key settled, and `alongside()` right after it in the
   * same tick, without waiting for its answer (a request whose order against `send` does not matter,
   * e.g. the caller's answer beside its join). Later work on these keys waits for both. Settles as
   * `send()` does; `alongside` must handle its own failure.
   */
  run<T>(keys: readonly string[], send: () => Promise<T>, alongside?: () => Promise<unknown>): Promise<T> {
    const before: Promise<void>[] = [];
    for (const k of keys) {
      const t = this.tails.get(k);
      if (t) before.push(t);
    }
    let extra: Promise<unknown> | undefined;
    const start = (): Promise<T> => {
      const p = send();
      if (alongside) extra = alongside();
      return p;
    };
    const p = before.length === 0 ? start() : Promise.all(before).then(start);
    const settled = (): void => {
      for (const k of keys) if (this.tails.get(k) === tail) this.tails.delete(k);
    };
    const tail: Promise<void> = p
      .then(noop, noop)
      .then(() => extra?.then(noop, noop))
      .then(settled);
    for (const k of keys) this.tails.set(k, tail);
    return p;
  }

  /** Keys with work in flight (tests; a finished call leaves none). */
  busy(): number {
    return this.tails.size;
  }
}
