/** Failed authentications are counted per address: IPv4 as is, IPv4-mapped as IPv4, IPv6 per /64. */
import { describe, expect, it } from 'vitest';
import { addressKey, createAuthFailureLimiter } from '../../../src/adapters/http/auth-failures.js';

describe('auth failure limiter', () => {
  it.each([
    ['10.20.30.40', '10.20.30.40'],
    ['::ffff:10.20.30.40', '10.20.30.40'],
    ['2001:db8:0:1:aaaa::1', '2001:db8:0:1::/64'],
    ['2001:0DB8:0000:0001:ffff:0:0:2', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['not-an-address', 'not-an-address'],
  ])('%s is counted as %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  it('two addresses of one /64 share a window; another /64 does not', () => {
    let now = 0;
    const l = createAuthFailureLimiter({ max: 2, windowMs: 1000, now: () => now });
    l.failed('2001:db8:0:1::1');
    l.failed('2001:db8:0:1::2');
    expect(l.blockedFor('2001:db8:0:1::3')).toBe(1000);
    expect(l.blockedFor('2001:db8:0:2::1')).toBe(0);
    now = 1000;
    expect(l.blockedFor('2001:db8:0:1::3')).toBe(0);
  });
});
