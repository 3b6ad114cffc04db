// Checks that hold for every protocol-sniffing result, shared by the sniffing and ClientHello targets.

import { SNIFF_MAX_BYTES, sniff, type SniffResult } from '../../../sidecar/listener/sniff';
import { invariant } from './fuzz-support';

/** A result as one comparable string. */
export function sniffKey(r: SniffResult): string {
  return JSON.stringify([r.protocol, r.serverName ?? null, r.alpn ?? null, r.httpMethodEnd ?? null]);
}

/** What holds for any sniff result of `buf`. */
export function checkSniffResult(buf: Buffer, r: SniffResult): void {
  if (r.protocol === 'need_more') invariant(buf.length < SNIFF_MAX_BYTES, `need_more at ${buf.length} bytes`);
  if (r.protocol === 'http1') {
    const end = r.httpMethodEnd;
    invariant(end !== undefined && end > 0 && buf[end] === 0x20, `http1 method end ${end} is not a space`);
  } else invariant(r.httpMethodEnd === undefined, `${r.protocol} with a method end`);
  if (r.protocol !== 'tls') invariant(r.serverName === undefined && r.alpn === undefined, `${r.protocol} with TLS details`);
  if (r.serverName !== undefined) invariant(r.serverName.length > 0, 'an empty server name reported');
  for (const p of r.alpn ?? []) invariant(p.length > 0, 'an empty ALPN protocol');
}

/** Sniffs `data` and checks the result, its stability over prefixes and over more bytes; returns it. */
export function checkSniff(data: Buffer): SniffResult {
  const full = sniff(data);
  checkSniffResult(data, full);
  // Decisions on a shorter prefix must agree with the whole; a few prefixes keep this cheap.
  const lengths = new Set([1, 2, 3, 5, 6, 9, 24, data.length >> 1, data.length - 1]);
  for (const n of lengths) {
    if (n <= 0 || n >= data.length) continue;
    const prefix = data.subarray(0, n);
    const r = sniff(prefix);
    checkSniffResult(prefix, r);
    if (r.protocol !== 'need_more') {
      invariant(sniffKey(r) === sniffKey(full), `${n} bytes sniff as ${sniffKey(r)}, all ${data.length} as ${sniffKey(full)}`);
    }
  }
  // The whole input followed by more bytes: a decision stands.
  if (full.protocol !== 'need_more') {
    const more = sniff(Buffer.concat([data, data.subarray(0, 64)]));
    invariant(sniffKey(more) === sniffKey(full), `appending bytes changed ${sniffKey(full)} to ${sniffKey(more)}`);
  }
  return full;
}
