/**
 * Counts failed authentications per source address (fixed window), so guessing tokens is limited
 * whatever token text each guess carries. In-process: with several instances behind a balancer an
 * address gets `max` failures per window per instance. IPv6 addresses are counted per /64 (one
 * host usually holds a whole /64).
 */
export interface AuthFailureLimiter {
  /** Milliseconds until `ip` may try again, or 0 when it may try now. */
  blockedFor(ip: string): number;
  /** Record a failed authentication from `ip`. */
  failed(ip: string): void;
}

/** `ip` as counted: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 as its /64 prefix. */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const lower = ip.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = lower.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function createAuthFailureLimiter(opts: { max: number; windowMs: number; now: () => number; maxTracked?: number }): AuthFailureLimiter {
  const maxTracked = opts.maxTracked ?? 100_000;
  const windows = new Map<string, { count: number; resetAt: number }>();
  const prune = (now: number): void => {
    for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
    // Still full (a spread-out attack): forget the oldest windows rather than grow without bound.
    for (const k of windows.keys()) {
      if (windows.size < maxTracked) break;
      windows.delete(k);
    }
  };
  return {
    blockedFor(ip) {
      const now = opts.now();
      const w = windows.get(addressKey(ip));
      if (!w || w.resetAt <= now || w.count < opts.max) return 0;
      return w.resetAt - now;
    },
    failed(ip) {
      const now = opts.now();
      const key = addressKey(ip);
      const w = windows.get(key);
      if (w && w.resetAt > now) {
        w.count += 1;
        return;
      }
      if (windows.size >= maxTracked) prune(now);
      windows.set(key, { count: 1, resetAt: now + opts.windowMs });
    },
  };
}
