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
    for (const bad of ['10.0.3', '300.1.1.1', '10.0.3.%%', 'fe80::1%eth0', '1:2:3', 'abc', '10.0.3.4/24']) expect(isValidIpPattern(bad), bad).toBe(false);
  });

  it('reads IPv4 only as four decimal parts: a leading zero (octal to inet_aton) or a hex part is no address', () => {
    for (const bad of ['010.0.3.%', '10.0.3.07', '0x0a.0.3.%', '%.%.%.%.%', '']) expect(isValidIpPattern(bad), bad).toBe(false);
    for (const [ip, ok] of [['10.0.3.7', true], ['010.0.3.7', false], ['10.0.3.7%eth0', false], ['fe80::1%eth0', false]] as const) expect(isValidIp(ip), ip).toBe(ok);
    expect(checkIp(['10.0.3.%'], '010.0.3.7')).toBe(false);
  });
});
