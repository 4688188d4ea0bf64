/**
 * Counts failed authentications per source address (fixed window), so guessing tokens is limited
 * whatever token text each guess carries. In-process: with several instances behind a balancer an
 * address gets `max` failures per window per instance. IPv6 addresses are counted per /64 (one
 * host usually holds a whole /64).
 */
import ipaddr from 'ipaddr.js';

export interface AuthFailureLimiter {
  /** Milliseconds until `ip` may try again, or 0 when it may try now. */
  blockedFor(ip: string): number;
  /** Record a failed authentication from `ip`. */
  failed(ip: string): void;
}

/** `ip` as counted: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 as its /64 prefix (parsed by ipaddr.js). */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const a = ipaddr.process(ip); // an IPv4-mapped IPv6 address becomes the IPv4 address it carries
  if (a.kind() === 'ipv4') return a.toString();
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((g) => g.toString(16));
  return `${parts.join(':')}::/64`;
}

export function createAuthFailureLimiter(opts: {
  max: number;
  windowMs: number;
  now: () => number;
  maxTracked?: number;
}): AuthFailureLimiter {
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
