// IPv4/IPv6 addresses and CIDR prefixes, without node:net (pure and allocation-light): parsing and
// containment for the data path (listener chains, RBAC), canonical prefix text for capture rules.
//
// On the data path an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a dual-stack socket reports
// IPv4 peers) is treated as the IPv4 address, so it matches IPv4 ranges and not IPv6 ones. Capture
// rules keep a prefix in the family it was written in (ip6tables gets a mapped prefix as written).

/** An address as four 32-bit words; an IPv4 address uses `w0` only. */
export interface IpAddress {
  readonly v4: boolean;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

function parseV4(s: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e /* . */) {
      if (digits === 0 || part > 255) return null;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return null; // no leading zeros ("01")
      part = part * 10 + (c - 0x30);
      if (++digits > 3) return null;
    } else {
      return null;
    }
  }
  return parts === 4 ? value >>> 0 : null;
}

/** Parses an IPv4 or IPv6 literal (brackets and a zone id allowed); null when it is not one. */
export function parseIp(input: string): IpAddress | null {
  let s = input;
  if (s.charCodeAt(0) === 0x5b && s.charCodeAt(s.length - 1) === 0x5d) s = s.slice(1, -1);
  if (s.indexOf(':') < 0) {
    const v = parseV4(s);
    return v === null ? null : { v4: true, w0: v, w1: 0, w2: 0, w3: 0 };
  }
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const groups = parseV6Groups(s);
  if (groups === null) return null;
  const w0 = ((groups[0] << 16) | groups[1]) >>> 0;
  const w1 = ((groups[2] << 16) | groups[3]) >>> 0;
  const w2 = ((groups[4] << 16) | groups[5]) >>> 0;
  const w3 = ((groups[6] << 16) | groups[7]) >>> 0;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return { v4: true, w0: w3, w1: 0, w2: 0, w3: 0 };
  return { v4: false, w0, w1, w2, w3 };
}

function parseV6Groups(s: string): number[] | null {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const head: number[] = [];
  if (dbl < 0) return groupsOf(s, true, head) && head.length === 8 ? head : null;
  const tail: number[] = [];
  if (!groupsOf(s.slice(0, dbl), false, head) || !groupsOf(s.slice(dbl + 2), true, tail)) return null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  for (let i = 0; i < missing; i++) head.push(0);
  for (let i = 0; i < tail.length; i++) head.push(tail[i]);
  return head;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Appends the 16-bit groups of `part` ("a:b:c", maybe ending in a dotted quad) to `out`. */
function groupsOf(part: string, allowV4Last: boolean, out: number[]): boolean {
  if (part === '') return true;
  const pieces = part.split(':');
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    if (allowV4Last && i === pieces.length - 1 && p.indexOf('.') >= 0) {
      const v4 = parseV4(p);
      if (v4 === null) return false;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX_GROUP.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return false;
    }
  }
  return true;
}

function mask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** A CIDR range; `contains` compares masked words. */
export class Cidr {
  readonly v4: boolean;
  readonly prefixLen: number;
  private readonly w: readonly [number, number, number, number];
  private readonly m: readonly [number, number, number, number];

  constructor(address: IpAddress, prefixLen: number) {
    this.v4 = address.v4;
    const max = address.v4 ? 32 : 128;
    this.prefixLen = Math.max(0, Math.min(max, prefixLen));
    const len = this.prefixLen;
    this.m = [mask(len), mask(len - 32), mask(len - 64), mask(len - 96)];
    this.w = [
      (address.w0 & this.m[0]) >>> 0,
      (address.w1 & this.m[1]) >>> 0,
      (address.w2 & this.m[2]) >>> 0,
      (address.w3 & this.m[3]) >>> 0,
    ];
  }

  /** Parses `address` + `prefixLen` (an IPv4-mapped IPv6 range becomes the IPv4 range); null if bad. */
  static parse(address: string, prefixLen: number): Cidr | null {
    const ip = parseIp(address);
    if (ip === null || !Number.isInteger(prefixLen) || prefixLen < 0) return null;
    const mapped = ip.v4 && address.indexOf(':') >= 0;
    const len = mapped ? prefixLen - 96 : prefixLen;
    if (len < 0 || len > (ip.v4 ? 32 : 128)) return null;
    return new Cidr(ip, len);
  }

  contains(ip: IpAddress): boolean {
    if (ip.v4 !== this.v4) return false;
    const m = this.m;
    const w = this.w;
    return (
      ((ip.w0 & m[0]) >>> 0) === w[0] &&
      ((ip.w1 & m[1]) >>> 0) === w[1] &&
      ((ip.w2 & m[2]) >>> 0) === w[2] &&
      ((ip.w3 & m[3]) >>> 0) === w[3]
    );
  }

  toString(): string {
    return `${this.v4 ? 'v4' : 'v6'}:${this.w.join('.')}/${this.prefixLen}`;
  }
}

// ─── canonical prefix text (capture rules) ───

/** A prefix as `iptables-save` prints it: host bits masked, IPv6 in RFC 5952 form. */
export interface CidrText {
  readonly family: 4 | 6;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
}

const V6_CHARS = /^[0-9a-fA-F:.]+$/;

/** Parses `a.b.c.d[/n]` or an IPv6 prefix (no brackets, no zone); null when it is not one. A bare address is /32 or /128. */
export function parseCidrText(input: string): CidrText | null {
  const s = input.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const lenText = slash < 0 ? null : s.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) return null;
  if (addr.indexOf(':') < 0) {
    const v4 = parseV4(addr);
    const len = lenText === null ? 32 : Number(lenText);
    if (v4 === null || len > 32) return null;
    const m = (v4 & mask(len)) >>> 0;
    return { family: 4, text: `${m >>> 24}.${(m >>> 16) & 0xff}.${(m >>> 8) & 0xff}.${m & 0xff}/${len}` };
  }
  if (!V6_CHARS.test(addr) || addr.length < 2) return null;
  const groups = parseV6Groups(addr);
  const len = lenText === null ? 128 : Number(lenText);
  if (groups === null || len > 128) return null;
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, len - i * 16));
    groups[i] &= (0xffff << (16 - bits)) & 0xffff;
  }
  return { family: 6, text: `${formatV6(groups)}/${len}` };
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatV6(groups: readonly number[]): string {
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    // IPv4-mapped, as inet_ntop prints it
    return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
