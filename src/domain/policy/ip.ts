/**
 * Source-address allow-lists. Entries are plain IPv4 (`192.168.1.20`), IPv4 with `%` wildcards
 * (`10.0.3.%`: a `%` octet matches any one octet; a trailing `%` after fewer than four parts matches
 * every remaining octet, so `10.%` is all of 10/8) and IPv6 literals compared in canonical form
 * (`::1` equals `0:0:0:0:0:0:0:1`). An IPv4-mapped IPv6 source (`::ffff:10.0.3.7`, what a dual-stack
 * socket reports) is matched as the IPv4 address it carries.
 */

/** Parse an IPv4 dotted quad into its four octets, or undefined. */
function ipv4Octets(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Canonical lowercase 8-group form of an IPv6 literal (zone ids not accepted), or undefined. */
function ipv6Canonical(s: string): string | undefined {
  if (!s.includes(':') || /[^0-9a-fA-F:.]/.test(s)) return undefined;
  let head = s;
  let tailGroups: string[] = [];
  // A trailing embedded IPv4 (`::ffff:1.2.3.4`) counts as two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = ipv4Octets(tail);
    if (!o) return undefined;
    head = s.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
    tailGroups = [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const split = (h: string): string[] | undefined => {
    if (h === '') return [];
    const g = h.split(':');
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x)) ? g : undefined;
  };
  const left = split(halves[0]!);
  const right = halves.length === 2 ? split(halves[1]!) : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length + tailGroups.length;
  let groups: string[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...left, ...Array<string>(8 - given).fill('0'), ...right, ...tailGroups];
  } else {
    if (given !== 8) return undefined;
    groups = [...left, ...tailGroups];
  }
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

/** An IPv4 address hidden in an IPv4-mapped IPv6 address, as octets. */
function mappedIpv4(canonical: string): number[] | undefined {
  const g = canonical.split(':');
  if (g.length === 8 && g.slice(0, 5).every((x) => x === '0') && g[5] === 'ffff') {
    const hi = parseInt(g[6]!, 16);
    const lo = parseInt(g[7]!, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255];
  }
  return undefined;
}

/** Parsed form of one allow-list entry. */
type IpPattern = { kind: 'v4'; octets: Array<number | '%'>; rest: boolean } | { kind: 'v6'; canonical: string };

function parsePattern(entry: string): IpPattern | undefined {
  if (entry.includes(':')) {
    const c = ipv6Canonical(entry);
    return c === undefined ? undefined : { kind: 'v6', canonical: c };
  }
  const parts = entry.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const octets: Array<number | '%'> = [];
  for (const p of parts) {
    if (p === '%') octets.push('%');
    else if (/^\d{1,3}$/.test(p) && Number(p) <= 255) octets.push(Number(p));
    else return undefined;
  }
  const rest = parts.length < 4;
  // Fewer than four parts only make sense with a trailing wildcard (`10.%`).
  if (rest && octets[octets.length - 1] !== '%') return undefined;
  return { kind: 'v4', octets, rest };
}

/** Whether an allow-list entry is well formed (used by config validation to name the bad entry). */
export function isValidIpPattern(entry: string): boolean {
  return parsePattern(entry) !== undefined;
}

/** Whether a source address is a valid IPv4 or IPv6 literal. */
export function isValidIp(ip: string): boolean {
  return ipv4Octets(ip) !== undefined || ipv6Canonical(ip) !== undefined;
}

function matchV4(p: Array<number | '%'>, rest: boolean, o: number[]): boolean {
  const n = rest ? p.length - 1 : 4;
  for (let i = 0; i < n; i++) {
    const want = p[i];
    if (want !== '%' && want !== o[i]) return false;
  }
  return true;
}

/**
 * Whether `ip` may be used by a user whose allow-list is `allow`. An empty list allows any address;
 * an unparsable address or entry never matches (deny, never throw).
 */
export function checkIp(allow: readonly string[], ip: string): boolean {
  if (allow.length === 0) return true;
  let v4 = ipv4Octets(ip);
  let v6: string | undefined;
  if (!v4) {
    v6 = ipv6Canonical(ip);
    if (v6 === undefined) return false;
    v4 = mappedIpv4(v6);
  }
  for (const entry of allow) {
    const p = parsePattern(entry);
    if (!p) continue;
    if (p.kind === 'v4') {
      if (v4 && matchV4(p.octets, p.rest, v4)) return true;
    } else if (v6 !== undefined && p.canonical === v6) {
      return true;
    }
  }
  return false;
}
