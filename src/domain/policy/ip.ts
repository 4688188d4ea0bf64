/**
 * Source-address allow-lists. Entries are plain IPv4 (`192.168.1.20`), IPv4 with `%` wildcards
 * (`10.0.3.%`: a `%` octet matches any one octet; a trailing `%` after fewer than four parts matches
 * every remaining octet, so `10.%` is all of 10/8) and IPv6 literals compared as addresses
 * (`::1` equals `0:0:0:0:0:0:0:1`). An IPv4-mapped IPv6 source (`::ffff:10.0.3.7`, what a dual-stack
 * socket reports) is matched as the IPv4 address it carries.
 *
 * Parsing is ipaddr.js's (the library fastify itself uses for trustProxy). IPv4 is accepted only
 * as four decimal parts (no `010.1.1.1`, which inet_aton would read as octal, no `10.1` shorthand);
 * IPv6 zone ids (`fe80::1%eth0`) are refused: `%` means a wildcard here. Only the `%` octets are
 * ours.
 */
import ipaddr from 'ipaddr.js';

type Octets = readonly number[];

/** The four octets of a four-part decimal IPv4 address, or undefined. */
function ipv4(s: string): Octets | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(s) ? ipaddr.IPv4.parse(s).octets : undefined;
}

/** An IPv6 literal without a zone id, or undefined. */
function ipv6(s: string): ipaddr.IPv6 | undefined {
  if (!ipaddr.IPv6.isValid(s)) return undefined;
  const a = ipaddr.IPv6.parse(s);
  return a.zoneId === undefined ? a : undefined;
}

/** Parsed form of one allow-list entry: IPv4 octets with `undefined` for a `%`, or an IPv6 address. */
type IpPattern = { kind: 'v4'; octets: ReadonlyArray<number | undefined> } | { kind: 'v6'; address: ipaddr.IPv6 };

function parsePattern(entry: string): IpPattern | undefined {
  if (entry.includes(':')) {
    const address = ipv6(entry);
    return address === undefined ? undefined : { kind: 'v6', address };
  }
  const parts = entry.split('.');
  // Fewer than four parts only make sense with a trailing wildcard (`10.%`): it stands for the rest.
  if (parts.length > 4 || (parts.length < 4 && parts[parts.length - 1] !== '%')) return undefined;
  const wild = [...parts, ...Array<string>(4 - parts.length).fill('%')].map((p) => p === '%');
  // Every `%` as 0 must leave a valid address: the other parts are then checked by ipaddr.js.
  const octets = ipv4(
    parts
      .map((p) => (p === '%' ? '0' : p))
      .concat(Array<string>(4 - parts.length).fill('0'))
      .join('.'),
  );
  return octets === undefined ? undefined : { kind: 'v4', octets: octets.map((o, i) => (wild[i] ? undefined : o)) };
}

/** Whether an allow-list entry is well formed (used by config validation to name the bad entry). */
export function isValidIpPattern(entry: string): boolean {
  return parsePattern(entry) !== undefined;
}

/** Whether a source address is a valid IPv4 or IPv6 literal. */
export function isValidIp(ip: string): boolean {
  return ipv4(ip) !== undefined || ipv6(ip) !== undefined;
}

/**
 * Whether `ip` may be used by a user whose allow-list is `allow`. An empty list allows any address;
 * an unparsable address or entry never matches (deny, never throw).
 */
export function checkIp(allow: readonly string[], ip: string): boolean {
  if (allow.length === 0) return true;
  let v4 = ipv4(ip);
  const v6 = v4 === undefined ? ipv6(ip) : undefined;
  if (v4 === undefined) {
    if (v6 === undefined) return false;
    if (v6.isIPv4MappedAddress()) v4 = v6.toIPv4Address().octets;
  }
  for (const entry of allow) {
    const p = parsePattern(entry);
    if (!p) continue;
    if (p.kind === 'v4') {
      if (v4 !== undefined && p.octets.every((want, i) => want === undefined || want === v4[i])) return true;
    } else if (v6 !== undefined && p.address.toNormalizedString() === v6.toNormalizedString()) {
      return true;
    }
  }
  return false;
}
