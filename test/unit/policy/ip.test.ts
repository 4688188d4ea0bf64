import { describe, expect, it } from 'vitest';
import { checkIp, isValidIp, isValidIpPattern } from '../../../src/domain/policy/index.js';

const table: Array<[string[], string, boolean]> = [
  [[], '203.0.113.5', true],
  [['173.100.10.%'], '173.100.10.42', true],
  [['173.100.10.%'], '173.100.11.42', false],
  [['173.100.%.5'], '173.100.200.5', true],
  [['173.100.%.5'], '173.100.200.6', false],
  [['10.%'], '10.200.3.4', true],
  [['10.%'], '11.0.0.1', false],
  [['192.168.1.20'], '192.168.1.20', true],
  [['192.168.1.20'], '192.168.1.200', false],
  [['10.0.3.%'], '10.0.3', false],
  [['10.0.3.%'], 'not-an-ip', false],
  [['::1'], '::1', true],
  [['::1'], '0:0:0:0:0:0:0:1', true],
  [['2001:db8::1'], '2001:DB8:0:0:0:0:0:1', true],
  [['2001:db8::1'], '2001:db8::2', false],
  [['10.0.3.%'], '::ffff:10.0.3.9', true],
  [['::1'], '127.0.0.1', false],
  [['10.0.3.%', '::1'], '::1', true],
];

describe('checkIp', () => {
  it.each(table)('%j allows %s: %s', (allow, ip, expected) => {
    expect(checkIp(allow, ip)).toBe(expected);
  });

  it('validates patterns', () => {
    for (const ok of ['10.0.3.%', '%.%.%.%', '1.2.3.4', '::1', 'fe80::1:2', '10.%']) expect(isValidIpPattern(ok), ok).toBe(true);
    for (const bad of ['10.0.3', '300.1.1.1', '10.0.3.%%', 'fe80::1%eth0', '1:2:3', 'abc', '10.0.3.4/24'])
      expect(isValidIpPattern(bad), bad).toBe(false);
  });

  it('reads IPv4 only as four decimal parts: a leading zero (octal to inet_aton) or a hex part is no address', () => {
    for (const bad of ['010.0.3.%', '10.0.3.07', '0x0a.0.3.%', '%.%.%.%.%', '']) expect(isValidIpPattern(bad), bad).toBe(false);
    for (const [ip, ok] of [
      ['10.0.3.7', true],
      ['010.0.3.7', false],
      ['10.0.3.7%eth0', false],
      ['fe80::1%eth0', false],
    ] as const)
      expect(isValidIp(ip), ip).toBe(ok);
    expect(checkIp(['10.0.3.%'], '010.0.3.7')).toBe(false);
  });
});

describe('allow-lists, edge by edge', () => {
  it.each([
    // IPv4 literals: four decimal octets of at most three digits, each at most 255
    { allow: ['255.1.1.1'], ip: '255.1.1.1', ok: true },
    { allow: ['1.2.3.4'], ip: '1.2.3.4x', ok: false },
    { allow: ['1.2.3.4'], ip: 'x1.2.3.4', ok: false },
    { allow: ['%.%.%.%'], ip: '256.1.1.1', ok: false },
    { allow: ['%.%.%.%'], ip: '1234.1.1.1', ok: false },
    { allow: ['%.%.%.%'], ip: '1.2.3', ok: false },
    { allow: ['%.%.%.%'], ip: '1.2.3.4.5', ok: false },
    // Leading zeros are not IPv4 as ipaddr.js reads it (some parsers read them as octal): never allowed.
    { allow: ['1.2.3.4'], ip: '001.002.003.004', ok: false },
    // patterns: % octets, a trailing % for the rest
    { allow: ['10.0.%'], ip: '10.0.200.1', ok: true },
    { allow: ['10.0.%'], ip: '10.1.0.1', ok: false },
    { allow: ['%.0.0.1'], ip: '99.0.0.1', ok: true },
    { allow: ['%.0.0.1'], ip: '99.0.0.2', ok: false },
    { allow: ['10.0.0.%'], ip: '10.0.1.0', ok: false },
    { allow: ['%'], ip: '8.8.8.8', ok: true },
    // a bad entry is skipped, the next one still counts
    { allow: ['10.0', '10.0.0.1'], ip: '10.0.0.1', ok: true },
    { allow: ['10.0'], ip: '10.0.0.1', ok: false },
    // IPv6: canonical comparison, any spelling
    { allow: ['2001:0DB8:0000::0001'], ip: '2001:db8::1', ok: true },
    { allow: ['1:2:3:4:5:6:7:8'], ip: '1:2:3:4:5:6:7:8', ok: true },
    { allow: ['1:2:3:4:5:6:7::'], ip: '1:2:3:4:5:6:7:0', ok: true },
    { allow: ['::'], ip: '0:0:0:0:0:0:0:0', ok: true },
    { allow: ['fe80::1'], ip: 'fe80::2', ok: false },
    { allow: ['1:2:3:4:5:6:1.2.3.4'], ip: '1:2:3:4:5:6:102:304', ok: true },
    { allow: ['::1'], ip: '::1::', ok: false },
    { allow: ['::1'], ip: '::g', ok: false },
    { allow: ['::1'], ip: '1:2:3:4:5:6:7:8:9', ok: false },
    { allow: ['::1'], ip: '1:2:3:4:5:6:7', ok: false },
    { allow: ['::1'], ip: '12345::1', ok: false },
    { allow: ['::1'], ip: '1:2:3:4:5:6:7::8', ok: false },
    { allow: ['::'], ip: '::1.2.3.400', ok: false },
    // an IPv4-mapped IPv6 source is its IPv4 address, in either spelling
    { allow: ['10.0.3.9'], ip: '::ffff:10.0.3.9', ok: true },
    { allow: ['10.0.3.9'], ip: '::ffff:a00:309', ok: true },
    { allow: ['10.0.3.9'], ip: '0:0:0:0:0:ffff:0a00:0309', ok: true },
    { allow: ['10.0.3.9'], ip: '::fffe:10.0.3.9', ok: false },
    { allow: ['10.0.3.9'], ip: '0:0:0:0:1:ffff:a00:309', ok: false },
    { allow: ['10.0.3.9'], ip: '1::ffff:a00:309', ok: false },
    { allow: ['255.254.253.252'], ip: '::ffff:fffe:fdfc', ok: true },
    // and an IPv6 entry matches the mapped address written as IPv6
    { allow: ['::ffff:10.0.3.9'], ip: '::ffff:a00:309', ok: true },
    { allow: ['::ffff:10.0.3.9'], ip: '10.0.3.9', ok: false },
    // only ::ffff:a.b.c.d is an IPv4 address in disguise; ::1 is not 0.0.0.1
    { allow: ['0.0.0.1'], ip: '::1', ok: false },
  ])('$allow allows $ip: $ok', ({ allow, ip, ok }) => {
    expect(checkIp(allow, ip)).toBe(ok);
  });

  it.each([
    ['1.2.3.4', true],
    ['255.255.255.255', true],
    ['256.0.0.1', false],
    ['1.2.3', false],
    ['::1', true],
    ['::ffff:1.2.3.4', true],
    ['1::2::3', false],
    ['1.2.3.4x', false],
    ['::1.2.3.4', true],
    ['1:2:3:4:5:6:7:8::9::1', false],
    ['12345::1', false],
    ['1:12345::1', false],
    ['1:2:3:4:5:6:7::8', false],
    ['hello', false],
    ['', false],
  ] as const)('isValidIp(%s) is %s', (ip, ok) => {
    expect(isValidIp(ip)).toBe(ok);
  });

  it.each([
    ['1.2.3.4.5', false],
    ['1.2.3.256', false],
    ['1.2.3.255', true],
    ['%.0', false],
    ['10.0', false],
    ['10.0.%', true],
    ['%', true],
    ['a.b.c.d', false],
    ['1.2.3.1000', false],
    ['::ffff:1.2.3.4', true],
    ['::ffff:1.2.3', false],
    ['10.0.0.0001', false],
  ] as const)('isValidIpPattern(%s) is %s', (entry, ok) => {
    expect(isValidIpPattern(entry)).toBe(ok);
  });
});
