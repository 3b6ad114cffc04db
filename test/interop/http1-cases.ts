// The HTTP/1.1 conformance and smuggling corpus: raw requests, what RFC 9110/9112 allows, and what the upstream may see.
//
// An outcome is written as the proxy's statuses in order (1xx included), then `close` when the proxy
// closed the connection; `closed` alone is a close without any response, `silent` no response at all
// within the wait. `rfc` lists every outcome the RFCs allow; where they leave room, Ferry must also
// answer as Envoy does, unless `differs` says why not (each such case is in docs/decisions/0014).

import type { LaterPart } from '../support/raw-http-client';

export interface UpstreamExpectation {
  /** Requests the upstream must have framed (0: the proxy forwarded nothing). */
  readonly requests: number;
  /** Body of the first forwarded request, byte for byte. */
  readonly body?: string;
  /** Request target of the first forwarded request. */
  readonly target?: string;
  /** Host header of the first forwarded request. */
  readonly host?: string;
  /** Header names that must not reach the upstream. */
  readonly without?: readonly string[];
  /** Connection tokens that must not reach the upstream. */
  readonly withoutConnectionTokens?: readonly string[];
  /** The proxy may leave the upstream with a request it never finished (it aborted the stream). */
  readonly mayAbort?: boolean;
}

export interface Http1Case {
  readonly name: string;
  /** What the RFC says, in a few words, with the section. */
  readonly why: string;
  /** Raw bytes to send; a later part waits for that many responses (1xx included), or for its time. */
  readonly send: readonly (string | LaterPart)[];
  /** Methods of the requests in order (a HEAD reply has no body). */
  readonly methods?: readonly string[];
  /** Final responses to wait for (default 1). */
  readonly finals?: number;
  readonly timeoutMs?: number;
  readonly rfc: readonly string[];
  readonly upstream: UpstreamExpectation;
  /** Ferry deliberately answers other than Envoy here (reason; see the decision note). */
  readonly differs?: string;
}

const H = 'Host: corpus.test\r\n';
const GET = `GET / HTTP/1.1\r\n${H}\r\n`;
const post = (headers: string, body: string): string => `POST / HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const headersOf = (n: number): string => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');

/** A request the smuggler hopes the upstream reads as a second one. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: corpus.test\r\n\r\n';
const SMUGGLED_CHUNK = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;

export const CASES: readonly Http1Case[] = [
  // ── baseline ──
  { name: 'plain GET', why: 'RFC 9112 §3', send: [GET], rfc: ['200'], upstream: { requests: 1, target: '/', host: 'corpus.test' } },
  { name: 'POST with Content-Length', why: 'RFC 9112 §6.2', send: [post('Content-Length: 5\r\n', 'hello')], rfc: ['200'], upstream: { requests: 1, body: 'hello' } },
  { name: 'POST chunked', why: 'RFC 9112 §7.1', send: [post('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')], rfc: ['200'], upstream: { requests: 1, body: 'hello' } },
  { name: 'two pipelined GETs', why: 'RFC 9112 §9.3.2: answered in order', send: [GET + GET], finals: 2, rfc: ['200 200'], upstream: { requests: 2 } },

  // ── request smuggling: Content-Length against Transfer-Encoding ──
  {
    name: 'CL.TE (CL 6, chunked, then "G")',
    why: 'RFC 9112 §6.1: both present — reject, or use TE alone; close after responding',
    send: [post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nG')],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.CL (chunked with a request inside, CL 4)',
    why: 'RFC 9112 §6.1: both present — reject, or use TE alone; close after responding',
    send: [post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: Transfer-Encoding: xchunked, with CL',
    why: 'RFC 9112 §6.1/§6.3: CL with TE, chunked not final — 400 and close (501 for an unknown coding)',
    send: [post('Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '501 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: Transfer-Encoding: xchunked alone',
    why: 'RFC 9112 §6.1: chunked not final — 400 and close (501 for an unknown coding)',
    send: [post('Transfer-Encoding: xchunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close'],
    differs: 'Envoy answers 501 (unknown coding, a SHOULD); chunked is not the final coding, where RFC 9112 §6.3 says MUST 400',
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: leading space in the value (" chunked"), with CL',
    why: 'RFC 9112 §5.1: OWS is not part of the value — still chunked, so CL and TE: reject or TE alone',
    send: [post('Content-Length: 4\r\nTransfer-Encoding:  chunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: space before the colon ("Transfer-Encoding : chunked")',
    why: 'RFC 9112 §5.1: whitespace between name and colon — MUST 400',
    send: [post('Content-Length: 4\r\nTransfer-Encoding : chunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: "chunked, identity"',
    why: 'RFC 9112 §6.1: chunked not final — MUST 400 and close',
    send: [post('Transfer-Encoding: chunked, identity\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close'],
    differs: 'Envoy answers 501 (unknown coding, a SHOULD); chunked is not the final coding, where RFC 9112 §6.3 says MUST 400',
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: "identity, chunked"',
    why: 'RFC 9112 §6.1/§7: identity is not a transfer coding (removed from the registry) — 501 or 400',
    send: [post('Transfer-Encoding: identity, chunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '501 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: Transfer-Encoding twice (chunked, chunked)',
    why: 'RFC 9112 §6.1: chunked MUST NOT be applied twice — reject (400, or 501 as for codings not implemented)',
    send: [post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '501 close'],
    differs: 'Envoy answers 501; the HTTP/1.1 parser refuses the doubled coding before Ferry sees the head, with 400',
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: Transfer-Encoding twice, with CL',
    why: 'RFC 9112 §6.1: both present — reject, or use TE alone',
    send: [post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\nTransfer-Encoding: x\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '501 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE.TE: tab before chunked, with CL',
    why: 'RFC 9112 §5.1: a tab is OWS — still chunked: reject, or use TE alone',
    send: [post('Content-Length: 4\r\nTransfer-Encoding:\tchunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE with a tab before chunked, alone',
    why: 'RFC 9112 §5.1: a tab is OWS — chunked',
    send: [post('Transfer-Encoding:\tchunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello' },
  },
  {
    name: 'TE.TE: CHUNKED in upper case, with CL',
    why: 'RFC 9112 §7: codings are case-insensitive — still chunked: reject, or use TE alone',
    send: [post('Content-Length: 4\r\nTransfer-Encoding: CHUNKED\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'TE: CHUNKED in upper case, alone',
    why: 'RFC 9112 §7: codings are case-insensitive',
    send: [post('Transfer-Encoding: CHUNKED\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello' },
  },
  {
    name: 'TE.TE: obs-fold inside Transfer-Encoding, with CL',
    why: 'RFC 9112 §5.2: obs-fold — reject with 400, or unfold to SP',
    send: [post('Content-Length: 4\r\nTransfer-Encoding:\r\n chunked\r\n', SMUGGLED_CHUNK)],
    rfc: ['400 close', '200 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Transfer-Encoding on an HTTP/1.0 request',
    why: 'RFC 9112 §6.1: treat the framing as faulty (Ferry refuses it), close after processing',
    send: [`POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n${SMUGGLED_CHUNK}`],
    rfc: ['400 close', '426 close', '200 close'],
    upstream: { requests: 0 },
    differs: 'Envoy refuses HTTP/1.0 unless http_protocol_options.accept_http_10 is set; Ferry serves it',
  },

  // ── Content-Length ──
  {
    name: 'two equal Content-Length lines',
    why: 'RFC 9110 §8.6: MAY accept identical values, or reject',
    send: [post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello')],
    rfc: ['400 close', '200'],
    upstream: { requests: 0 },
  },
  {
    name: 'Content-Length "5, 5"',
    why: 'RFC 9110 §8.6: MAY accept a list of identical values, or reject',
    send: [post('Content-Length: 5, 5\r\n', 'hello')],
    rfc: ['400 close', '200'],
    upstream: { requests: 0 },
  },
  {
    name: 'two different Content-Length lines',
    why: 'RFC 9112 §6.3: invalid length — MUST 400 and close',
    send: [post('Content-Length: 5\r\nContent-Length: 40\r\n', `hello${SMUGGLED}`)],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  ...(
    [
      ['+5', 'a sign'],
      ['-5', 'a negative sign'],
      ['5 0', 'a space inside'],
      ['0x5', 'hex'],
      ['5a', 'trailing junk'],
      ['99999999999999999999', 'overflow'],
    ] as const
  ).map(([v, what]) => ({
    name: `Content-Length with ${what} (${v})`,
    why: 'RFC 9110 §8.6: 1*DIGIT only; RFC 9112 §6.3: invalid — MUST 400 and close',
    send: [post(`Content-Length: ${v}\r\n`, `hello${SMUGGLED}`)],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  })),
  {
    name: 'Content-Length with leading zeros (005)',
    why: 'RFC 9110 §8.6: 1*DIGIT — 005 is 5',
    send: [post('Content-Length: 005\r\n', 'hello')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello' },
  },

  // ── line endings and folding ──
  {
    name: 'obs-fold in a header',
    why: 'RFC 9112 §5.2: reject with 400, or replace each obs-fold with SP before forwarding',
    send: [`GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`],
    rfc: ['400 close', '200'],
    differs: 'Envoy unfolds and forwards; the HTTP/1.1 parser rejects obs-fold (the other choice RFC 9112 §5.2 allows)',
    upstream: { requests: 0 },
  },
  {
    name: 'bare CR in the request line',
    why: 'RFC 9112 §2.2: a bare CR is invalid (or replaced by SP)',
    send: ['GET / HTTP/1.1\rHost: corpus.test\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'bare CR in a header value',
    why: 'RFC 9112 §2.2: a bare CR is invalid (or replaced by SP before forwarding)',
    send: [`GET / HTTP/1.1\r\n${H}X-Cr: a\rb\r\n\r\n`],
    rfc: ['400 close', '200'],
    differs: 'Envoy drops the CR and forwards; the HTTP/1.1 parser rejects it (RFC 9112 §2.2 allows either)',
    upstream: { requests: 0 },
  },
  {
    name: 'bare LF line endings',
    why: 'RFC 9112 §2.2: a recipient MAY take a lone LF as the line end',
    send: ['GET / HTTP/1.1\nHost: corpus.test\n\n'],
    rfc: ['400 close', '200'],
    differs: 'Envoy reads a lone LF as a line end; the HTTP/1.1 parser requires CRLF (RFC 9112 §2.2 makes accepting LF a MAY)',
    upstream: { requests: 0 },
  },
  {
    name: 'bare LF after the chunk size',
    why: 'RFC 9112 §7.1 and §2.2: lone LF — reject, or read as CRLF',
    send: [post('Transfer-Encoding: chunked\r\n', `5\nhello\r\n0\r\n\r\n`)],
    rfc: ['400 close', '200'],
    upstream: { requests: 0 },
  },
  {
    name: 'NUL in a header value',
    why: 'RFC 9110 §5.5: NUL MUST be rejected or replaced',
    send: [`GET / HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },

  // ── chunked bodies ──
  ...(
    [
      ['-5', 'negative'],
      ['fffffffffffffffff', 'overflow'],
      ['5g', 'hex with junk'],
      ['0x5', 'a 0x prefix'],
      [' 5', 'a leading space'],
    ] as const
  ).map(([size, what]) => ({
    name: `chunk size ${what} (${JSON.stringify(size)})`,
    why: 'RFC 9112 §7.1: chunk-size = 1*HEXDIG — MUST 400 and close',
    send: [post('Transfer-Encoding: chunked\r\n', `${size}\r\nhello\r\n0\r\n\r\n`)],
    rfc: ['400 close'],
    upstream: { requests: 0, mayAbort: true },
  })),
  {
    name: 'chunk extension',
    why: 'RFC 9112 §7.1.1: extensions are allowed and ignored when not understood',
    send: [post('Transfer-Encoding: chunked\r\n', '5;name=value\r\nhello\r\n0;x="y"\r\n\r\n')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello' },
  },
  {
    name: 'chunk data longer than its size',
    why: 'RFC 9112 §7.1: the data must be followed by CRLF',
    send: [post('Transfer-Encoding: chunked\r\n', `3\r\nhello\r\n0\r\n\r\n`)],
    rfc: ['400 close'],
    upstream: { requests: 0, mayAbort: true },
  },
  {
    name: 'missing final chunk',
    why: 'RFC 9112 §7.1: the message is not complete — no response yet',
    send: [post('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n')],
    timeoutMs: 600,
    rfc: ['silent'],
    upstream: { requests: 0, mayAbort: true },
  },
  {
    name: 'request trailers',
    why: 'RFC 9112 §7.1.2: trailer fields after the last chunk',
    send: [post('Transfer-Encoding: chunked\r\nTrailer: x-checksum\r\n', '5\r\nhello\r\n0\r\nx-checksum: 5d41\r\n\r\n')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello' },
  },
  {
    name: 'a request smuggled after a complete chunked body',
    why: 'RFC 9112 §9.3.2: bytes after a message are the next request (pipelining), never part of this one',
    send: [post('Transfer-Encoding: chunked\r\n', `5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`)],
    finals: 2,
    rfc: ['200 200'],
    upstream: { requests: 2, body: 'hello' },
  },

  // ── responses from the upstream ──
  {
    name: 'upstream sends 100 Continue first',
    why: 'RFC 9110 §15.2: a proxy MUST forward 1xx unless it asked for it; the final answer follows',
    send: [`GET /informational/100 HTTP/1.1\r\n${H}\r\n`],
    rfc: ['100 200', '200'],
    upstream: { requests: 1 },
  },
  {
    name: 'upstream sends 103 Early Hints first',
    why: 'RFC 9110 §15.2, RFC 8297: forward 1xx to an HTTP/1.1 client; the final answer follows',
    send: [`GET /informational/103 HTTP/1.1\r\n${H}\r\n`],
    rfc: ['103 200', '200'],
    upstream: { requests: 1 },
  },
  {
    name: 'client Expect: 100-continue',
    why: 'RFC 9110 §10.1.1: 100 then the final answer (or a final answer at once)',
    send: [post('Content-Length: 5\r\nExpect: 100-continue\r\n', ''), { afterResponses: 1, orAfterMs: 300, data: 'hello' }],
    rfc: ['100 200', '200'],
    upstream: { requests: 1, body: 'hello' },
  },
  {
    name: 'Expect: 100-continue on a request that is refused',
    why: 'RFC 9110 §10.1.1: a server that will refuse the request answers with the final status, not 100',
    send: ['POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'HEAD, upstream wrongly sends a body, then a GET on the same connection',
    why: 'RFC 9110 §9.3.2: a HEAD response has no content — the body must not reach the client or desync the next answer',
    send: [`HEAD /head-with-body HTTP/1.1\r\n${H}\r\n`, { afterResponses: 1, orAfterMs: 1_000, data: GET }],
    methods: ['HEAD', 'GET'],
    finals: 2,
    rfc: ['200 200'],
    upstream: { requests: 2 },
  },

  // ── the request line and header names ──
  {
    name: 'space in a header name',
    why: 'RFC 9110 §5.1: field-name is a token — 400',
    send: [`GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'empty header name (": x")',
    why: 'RFC 9110 §5.1: field-name is a token — 400',
    send: [`GET / HTTP/1.1\r\n${H}: x\r\n\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'header line without a colon',
    why: 'RFC 9112 §5: field-line = field-name ":" … — 400',
    send: [`GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'non-token method ("G(T")',
    why: 'RFC 9110 §9.1: method = token — 400',
    send: ['G(T / HTTP/1.1\r\nHost: corpus.test\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'two spaces after the method',
    why: 'RFC 9112 §3: single SP separators (a recipient MAY be lenient, a proxy must not forward it so)',
    send: ['GET  / HTTP/1.1\r\nHost: corpus.test\r\n\r\n'],
    rfc: ['400 close', '200'],
    upstream: { requests: 1, target: '/' },
  },
  {
    name: 'oversized request line (70 KiB target)',
    why: 'RFC 9112 §3: 414 for a long target (or 431 when it counts against the head limit), then close',
    send: [`GET /${'a'.repeat(70 * 1024)} HTTP/1.1\r\n${H}\r\n`],
    rfc: ['414 close', '431 close', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'HTTP/2.0 in an HTTP/1 request line',
    why: 'RFC 9110 §15.6.6/§15.5.22: refuse the version — 505, or 426 naming HTTP/1.1 (as Envoy)',
    send: ['GET / HTTP/2.0\r\nHost: corpus.test\r\n\r\n'],
    rfc: ['505 close', '426 close', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'HTTP/1.2 in the request line',
    why: 'RFC 9110 §2.5: a higher minor version SHOULD be read as HTTP/1.1 (both proxies refuse it)',
    send: ['GET / HTTP/1.2\r\nHost: corpus.test\r\n\r\n'],
    rfc: ['200', '400 close', '426 close'],
    upstream: { requests: 0 },
    differs: 'Envoy answers 426; the HTTP/1.1 parser refuses the version with 400 before Ferry sees the head',
  },
  {
    name: 'unknown method FOO',
    why: 'RFC 9110 §9.1: a proxy may forward any token method (Envoy and Ferry both refuse methods they do not know)',
    send: ['FOO / HTTP/1.1\r\nHost: corpus.test\r\n\r\n'],
    rfc: ['400 close', '501 close', '200'],
    upstream: { requests: 0 },
  },
  {
    name: 'a valid GET, then a broken pipelined request',
    why: 'RFC 9112 §9.3.2: responses in request order — the GET is answered, then the 400',
    send: [`${GET}GARBAGE\r\n\r\n`],
    finals: 2,
    rfc: ['200 400 close'],
    upstream: { requests: 1 },
  },

  // ── Host and request targets (defect 8) ──
  {
    name: 'HTTP/1.1 without Host',
    why: 'RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host',
    send: ['GET / HTTP/1.1\r\n\r\n'],
    rfc: ['400', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'HTTP/1.1 with an empty Host',
    why: 'RFC 9112 §3.2: an empty Host is valid when the target has no authority',
    send: ['GET / HTTP/1.1\r\nHost:\r\n\r\n'],
    rfc: ['200'],
    upstream: { requests: 1 },
  },
  {
    name: 'two Host lines',
    why: 'RFC 9112 §3.2: more than one Host — MUST 400',
    send: ['GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n'],
    rfc: ['400', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Host with a space',
    why: 'RFC 9112 §3.2: an invalid Host — MUST 400',
    send: ['GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    rfc: ['400', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Host with userinfo (a@b.test)',
    why: 'RFC 9112 §3.2: Host = uri-host [":" port] — an invalid Host, MUST 400',
    send: ['GET / HTTP/1.1\r\nHost: a@b.test\r\n\r\n'],
    rfc: ['400', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Host with two ports',
    why: 'RFC 9112 §3.2: Host = uri-host [":" port] — an invalid Host, MUST 400',
    send: ['GET / HTTP/1.1\r\nHost: a.test:80:90\r\n\r\n'],
    rfc: ['400', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Host as an IPv6 literal with a port',
    why: 'RFC 9112 §3.2, RFC 3986 §3.2.2: IP-literal',
    send: ['GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n'],
    rfc: ['200'],
    upstream: { requests: 1, host: '[::1]:8080' },
  },
  {
    name: 'a fragment in the request target',
    why: 'RFC 9112 §3.2: origin-form = absolute-path [ "?" query ] — no fragment',
    send: [`GET /p#frag HTTP/1.1\r\n${H}\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'a relative request target ("p")',
    why: 'RFC 9112 §3.2: no such request-target form',
    send: [`GET p HTTP/1.1\r\n${H}\r\n`],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'asterisk-form OPTIONS *',
    why: 'RFC 9112 §3.2.4: for OPTIONS only; no route matches it here',
    send: [`OPTIONS * HTTP/1.1\r\n${H}\r\n`],
    rfc: ['404', '200', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'absolute-form target',
    why: 'RFC 9112 §3.2.2: the authority comes from the target, Host is ignored; forwarded in origin-form',
    send: ['GET http://absolute.test/path?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n'],
    rfc: ['200'],
    upstream: { requests: 1, target: '/path?q=1', host: 'absolute.test' },
  },
  {
    name: 'absolute-form target without a path',
    why: 'RFC 9112 §3.2.2 and RFC 9110 §4.2.3: an empty path is "/"',
    send: ['GET http://absolute.test HTTP/1.1\r\nHost: absolute.test\r\n\r\n'],
    rfc: ['200'],
    upstream: { requests: 1, target: '/', host: 'absolute.test' },
  },
  {
    name: 'absolute-form https target with a port',
    why: 'RFC 9112 §3.2.2: the authority, port included, comes from the target',
    send: ['GET https://absolute.test:8443/p HTTP/1.1\r\nHost: other.test\r\n\r\n'],
    rfc: ['200'],
    upstream: { requests: 1, target: '/p', host: 'absolute.test:8443' },
  },
  {
    name: 'absolute-form target with userinfo',
    why: 'RFC 9110 §4.2.4: userinfo in an http(s) URI SHOULD be treated as an error',
    send: ['GET http://user@absolute.test/p HTTP/1.1\r\nHost: absolute.test\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
    differs: 'Envoy drops the userinfo and forwards; RFC 9110 §4.2.4 says treat it as an error',
  },
  {
    name: 'absolute-form target with another scheme',
    why: 'RFC 9112 §3.2.2: an http(s) proxy has nothing to do with ftp://',
    send: ['GET ftp://absolute.test/p HTTP/1.1\r\nHost: absolute.test\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'absolute-form target with an empty authority',
    why: 'RFC 9110 §4.2.1: an http URI with an empty host is invalid',
    send: ['GET http:///p HTTP/1.1\r\nHost: absolute.test\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'absolute-form target on HTTP/1.1 without Host',
    why: 'RFC 9112 §3.2: an HTTP/1.1 request without Host MUST get 400, whatever its target',
    send: ['GET http://absolute.test/p HTTP/1.1\r\n\r\n'],
    rfc: ['400 close'],
    upstream: { requests: 0 },
    differs: 'Envoy takes the authority from the target and forwards; RFC 9112 §3.2 requires Host of every HTTP/1.1 request',
  },
  {
    name: 'HTTP/0.9 request line',
    why: 'HTTP/0.9 has no headers or status — refuse it (426 Upgrade Required, as Envoy)',
    send: ['GET /\r\n\r\n'],
    rfc: ['426 close', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'CONNECT without a CONNECT route',
    why: 'RFC 9110 §9.3.6: a proxy that does not tunnel answers with a final status (4xx), not a silent close',
    send: ['CONNECT upstream.test:443 HTTP/1.1\r\nHost: upstream.test:443\r\n\r\n'],
    rfc: ['404 close', '403 close', '405 close', '400 close'],
    upstream: { requests: 0 },
  },
  {
    name: 'Upgrade: h2c is ignored, the request served as HTTP/1.1',
    why: 'RFC 9113 §3.1: h2c upgrade is obsolete; RFC 9110 §7.8: a server MAY ignore Upgrade',
    send: [`GET / HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`],
    rfc: ['200'],
    upstream: { requests: 1, without: ['upgrade', 'http2-settings'], withoutConnectionTokens: ['upgrade', 'http2-settings'] },
  },
  {
    name: 'Upgrade: h2c on a POST with a body',
    why: 'RFC 9110 §7.8: ignoring Upgrade leaves an ordinary request, body and all',
    send: [post('Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n', 'hello')],
    rfc: ['200'],
    upstream: { requests: 1, body: 'hello', without: ['upgrade', 'http2-settings'] },
  },
  {
    name: 'WebSocket upgrade without an upgrade config',
    why: 'RFC 9110 §7.8: a server MAY ignore Upgrade; refusing with a final status is also allowed',
    send: [`GET / HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`],
    rfc: ['403 close', '403', '200'],
    upstream: { requests: 0 },
  },

  // ── connection management ──
  {
    name: 'Connection: close is honoured',
    why: 'RFC 9112 §9.6: the server closes after the response; a later request is not read',
    send: [`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n${GET}`],
    rfc: ['200 close'],
    upstream: { requests: 1 },
  },
  {
    name: 'HTTP/1.0 keep-alive',
    why: 'RFC 9112 §9.3 and RFC 7230 A.1.2: an HTTP/1.0 client asks for keep-alive; two answers on one connection',
    send: [`GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`, { afterResponses: 1, orAfterMs: 1_000, data: `GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n` }],
    finals: 2,
    rfc: ['200 200'],
    upstream: { requests: 2 },
    differs: 'Envoy refuses HTTP/1.0 unless http_protocol_options.accept_http_10 is set; Ferry serves it',
  },
  {
    name: 'HTTP/1.0 without keep-alive closes',
    why: 'RFC 9112 §9.3: HTTP/1.0 without keep-alive — close after the response',
    send: [`GET / HTTP/1.0\r\n${H}\r\n`],
    rfc: ['200 close'],
    upstream: { requests: 1 },
    differs: 'Envoy refuses HTTP/1.0 unless http_protocol_options.accept_http_10 is set; Ferry serves it',
  },
  {
    name: 'HTTP/1.0 without Host',
    why: 'RFC 9112 §3.2: Host is required of HTTP/1.1 only',
    send: ['GET / HTTP/1.0\r\n\r\n'],
    rfc: ['200 close'],
    upstream: { requests: 1 },
    differs: 'Envoy refuses HTTP/1.0 unless http_protocol_options.accept_http_10 is set; Ferry serves it',
  },

  // ── header limits (defect 6) ──
  { name: '100 headers (the default limit)', why: 'Envoy max_headers_count default 100', send: [`GET / HTTP/1.1\r\n${H}${headersOf(99)}\r\n`], rfc: ['200'], upstream: { requests: 1 } },
  { name: '101 headers', why: 'RFC 6585 §5: 431 past the server\'s header limit', send: [`GET / HTTP/1.1\r\n${H}${headersOf(100)}\r\n`], rfc: ['431', '431 close'], upstream: { requests: 0 } },
  { name: '3,000 headers', why: 'RFC 6585 §5: 431, never a silent drop', send: [`GET / HTTP/1.1\r\n${H}${headersOf(2999)}\r\n`], rfc: ['431', '431 close'], upstream: { requests: 0 } },
  {
    name: 'one 70 KiB header (over max_request_headers_kb 60)',
    why: 'RFC 6585 §5: 431',
    send: [`GET / HTTP/1.1\r\n${H}x-big: ${'b'.repeat(70 * 1024)}\r\n\r\n`],
    rfc: ['431', '431 close'],
    upstream: { requests: 0 },
  },
];
