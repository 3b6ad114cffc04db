// Fuzz target: protocol sniffing of a connection's first bytes (HTTP/1, HTTP/2 preface, TLS, opaque).
//
// Input: the first bytes of a connection. sniff() never throws. Asserted: it asks for more only
// below SNIFF_MAX_BYTES; a decision does not change when more bytes arrive (the listener acts on
// the first decision it gets); an HTTP/1 method ends at a space; an SNI name and ALPN protocols
// are non-empty strings.

import { checkSniff } from './support/sniff-checks';

export function fuzz(data: Buffer): void {
  checkSniff(data);
}
