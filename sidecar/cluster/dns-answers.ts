// Which resolved addresses a DNS cluster uses, by its dns_lookup_family (Envoy's rules).

import type { ClusterConfig } from '../../src/config/types';

export interface DnsAnswer {
  readonly address: string;
  readonly family: number; // 4 or 6
}

/**
 * AUTO prefers IPv6 and falls back to IPv4; V4_PREFERRED the other way round; ALL keeps both;
 * V4_ONLY / V6_ONLY keep their family. LOGICAL_DNS clusters use the first address only.
 */
export function selectDnsAnswers(answers: readonly DnsAnswer[], family: ClusterConfig['dnsLookupFamily'], logical: boolean): string[] {
  let kept: readonly DnsAnswer[];
  switch (family) {
    case 'V4_ONLY':
      kept = answers.filter((a) => a.family === 4);
      break;
    case 'V6_ONLY':
      kept = answers.filter((a) => a.family === 6);
      break;
    case 'ALL':
      kept = answers;
      break;
    default: {
      const preferred = answers.filter((a) => a.family === (family === 'AUTO' ? 6 : 4));
      kept = preferred.length > 0 ? preferred : answers;
    }
  }
  const out = kept.map((a) => a.address);
  return logical ? out.slice(0, 1) : out;
}
