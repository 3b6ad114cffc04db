// The capture rules `ferry init` installs: an iptables-restore payload (nat table) per IP family.
//
// Pure: options in, text out. Rules are written in the exact form `iptables-save` prints them, so
// what is installed can be compared line by line with what was generated.
//
// Outbound (OUTPUT → FERRY_OUTPUT), first match wins:
//   1. the sidecar's inbound hop to the app (source 127.0.0.6 on lo) is never captured;
//   2. the proxy (UID/GID 1337) reaching its own pod IP over lo — the pod called its own Service
//      and the balancer picked this pod — hairpins into FERRY_INBOUND, like traffic from a peer;
//   3. any other lo traffic (the app calling itself, 127.0.0.1) and the proxy's own traffic pass;
//   4. excluded ports and excluded CIDRs pass;
//   5. the included CIDRs (default all) go to FERRY_REDIRECT → 15001.
// Inbound (PREROUTING → FERRY_INBOUND): the proxy's own ports and excluded ports pass; included
// ports (default all) go to FERRY_IN_REDIRECT → 15006.

import { INBOUND_PASSTHROUGH_SOURCE_V4, INBOUND_PASSTHROUGH_SOURCE_V6 } from '../../src/mesh/constants';
import type { CaptureOptions } from '../../src/mesh/capture-options';

export const CHAIN_INBOUND = 'FERRY_INBOUND';
export const CHAIN_IN_REDIRECT = 'FERRY_IN_REDIRECT';
export const CHAIN_OUTPUT = 'FERRY_OUTPUT';
export const CHAIN_REDIRECT = 'FERRY_REDIRECT';
export const FERRY_CHAINS = Object.freeze([CHAIN_INBOUND, CHAIN_IN_REDIRECT, CHAIN_OUTPUT, CHAIN_REDIRECT]);

/** The jumps from the built-in chains into Ferry's chains, as `iptables-save` prints them. */
export const JUMP_RULES = Object.freeze([`-A PREROUTING -p tcp -j ${CHAIN_INBOUND}`, `-A OUTPUT -p tcp -j ${CHAIN_OUTPUT}`]);

export interface CaptureRules {
  readonly ipv4: string;
  readonly ipv6: string;
}

export function buildRules(opts: CaptureOptions): CaptureRules {
  return {
    ipv4: buildFamily(opts, 4),
    ipv6: buildFamily(opts, 6),
  };
}

function buildFamily(opts: CaptureOptions, family: 4 | 6): string {
  const loopback = family === 4 ? '127.0.0.1/32' : '::1/128';
  const passthrough = family === 4 ? `${INBOUND_PASSTHROUGH_SOURCE_V4}/32` : `${INBOUND_PASSTHROUGH_SOURCE_V6}/128`;
  const inboundEnabled = opts.includeInboundPorts === '*' || opts.includeInboundPorts.length > 0;
  const lines: string[] = ['*nat'];
  for (const chain of FERRY_CHAINS) lines.push(`:${chain} - [0:0]`);

  // Inbound.
  const exempt = [...opts.proxyPorts, ...opts.excludeInboundPorts.filter((p) => !opts.proxyPorts.includes(p))];
  for (const port of exempt) lines.push(`-A ${CHAIN_INBOUND} -p tcp -m tcp --dport ${port} -j RETURN`);
  if (opts.includeInboundPorts === '*') {
    lines.push(`-A ${CHAIN_INBOUND} -p tcp -j ${CHAIN_IN_REDIRECT}`);
  } else {
    for (const port of opts.includeInboundPorts) {
      if (!exempt.includes(port)) lines.push(`-A ${CHAIN_INBOUND} -p tcp -m tcp --dport ${port} -j ${CHAIN_IN_REDIRECT}`);
    }
  }
  lines.push(`-A ${CHAIN_IN_REDIRECT} -p tcp -j REDIRECT --to-ports ${opts.inboundPort}`);

  // Outbound.
  const out = (rule: string) => lines.push(`-A ${CHAIN_OUTPUT} ${rule}`);
  out(`-s ${passthrough} -o lo -j RETURN`);
  const owners: [string, number][] = [['uid', opts.proxyUid]];
  if (opts.proxyGid !== null) owners.push(['gid', opts.proxyGid]);
  if (inboundEnabled) {
    for (const [kind, id] of owners) out(`! -d ${loopback} -o lo -p tcp -m owner --${kind}-owner ${id} -j ${CHAIN_INBOUND}`);
  }
  out('-o lo -j RETURN');
  for (const [kind, id] of owners) out(`-m owner --${kind}-owner ${id} -j RETURN`);
  for (const port of opts.excludeOutboundPorts) out(`-p tcp -m tcp --dport ${port} -j RETURN`);
  for (const cidr of opts.excludeOutboundCidrs) if (cidr.family === family) out(`-d ${cidr.text} -j RETURN`);
  if (opts.includeOutboundCidrs === '*') {
    out(`-j ${CHAIN_REDIRECT}`);
  } else {
    for (const cidr of opts.includeOutboundCidrs) if (cidr.family === family) out(`-d ${cidr.text} -j ${CHAIN_REDIRECT}`);
  }
  lines.push(`-A ${CHAIN_REDIRECT} -p tcp -j REDIRECT --to-ports ${opts.outboundPort}`);

  lines.push(...JUMP_RULES, 'COMMIT', '');
  return lines.join('\n');
}
