// Fuzz target: the upstream HTTP/1 response parser, fed whole and in pieces, with a serialise→parse round trip.
//
// Input: one flags byte (bit 0: the request was HEAD; the rest seeds where the stream is cut), then
// the bytes an upstream sends. Expected: ResponseParseError. Asserted: events arrive in order (head,
// body, end; nothing after the end), a Content-Length body has exactly that length, how the bytes
// are split across reads changes nothing, and a completed response written out again parses to
// the same status, headers and body.

import { Http1ResponseParser, ResponseParseError, type ResponseSink } from '../../sidecar/upstream/http1-response-parser';
import { invariant } from './support/fuzz-support';

type Headers = Record<string, string | string[]>;

interface Outcome {
  head: { status: number; headers: Headers } | null;
  body: Buffer;
  ended: boolean;
  trailers: Headers | null;
  error: string | null;
  /** Bytes of the stream the parser took up to the end of the response; -1 after an error. */
  consumed: number;
}

/** Runs one response over `stream` cut at `cuts`, as the upstream connection does. */
function run(stream: Buffer, headRequest: boolean, cuts: number[]): Outcome {
  const parser = new Http1ResponseParser();
  const out: Outcome = { head: null, body: Buffer.alloc(0), ended: false, trailers: null, error: null, consumed: 0 };
  const chunks: Buffer[] = [];
  const sink: ResponseSink = {
    onResponseHead(status, headers) {
      invariant(out.head === null, 'a second response head for one response');
      invariant(!out.ended, 'a head after the end');
      invariant(Number.isInteger(status) && status >= 200 && status <= 999, `final status ${status}`);
      out.head = { status, headers };
    },
    onResponseBody(chunk) {
      invariant(out.head !== null, 'body before the head');
      invariant(!out.ended, 'body after the end');
      invariant(chunk.length > 0, 'an empty body chunk');
      chunks.push(Buffer.from(chunk));
    },
    onResponseEnd(trailers) {
      invariant(out.head !== null, 'end before the head');
      invariant(!out.ended, 'two ends for one response');
      out.ended = true;
      out.trailers = trailers;
    },
  };
  parser.start(sink, headRequest);
  let at = 0;
  try {
    for (const cut of [...cuts, stream.length]) {
      if (cut <= at) continue;
      const piece = stream.subarray(at, cut);
      const used = parser.execute(piece);
      invariant(used >= 0 && used <= piece.length, `execute consumed ${used} of ${piece.length}`);
      out.consumed += used;
      at = cut;
      if (out.ended) break;
      invariant(used === piece.length, `execute stopped at ${used} of ${piece.length} before the response ended`);
    }
    invariant(parser.busy === !out.ended, 'busy disagrees with the end event');
    if (!out.ended) {
      if (parser.readsUntilClose) {
        parser.finish();
        invariant(out.ended, 'finish() did not end a response read until close');
      } else {
        // The connection closed mid-response: the parser must say so, never end it quietly.
        let threw = false;
        try {
          parser.finish();
        } catch (err) {
          if (!(err instanceof ResponseParseError)) throw err;
          threw = true;
        }
        invariant(threw && !out.ended, 'a truncated response was not reported');
        out.error = 'truncated';
      }
    }
  } catch (err) {
    if (!(err instanceof ResponseParseError)) throw err;
    out.error = err.message;
    out.consumed = -1; // where in the stream the error struck depends on the pieces
  }
  out.body = Buffer.concat(chunks);
  return out;
}

function describeOutcome(o: Outcome): string {
  return JSON.stringify({ ...o, body: o.body.toString('latin1') });
}

/** Writes a completed response out again with a Content-Length body. */
function serialise(status: number, headers: Headers, body: Buffer): Buffer {
  let head = `HTTP/1.1 ${status} X\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  head += `content-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const flags = data[0];
  const stream = data.subarray(1);
  const headRequest = (flags & 1) === 1;
  const whole = run(stream, headRequest, []);

  // The same bytes in pieces: cut every `step` bytes, and once at a point derived from the flags.
  const step = 1 + (flags >> 1);
  const cuts: number[] = [];
  for (let i = step; i < stream.length; i += step) cuts.push(i);
  const pieces = run(stream, headRequest, cuts);
  invariant(
    describeOutcome(whole) === describeOutcome(pieces),
    `read whole and in ${step}-byte pieces differ:\n${describeOutcome(whole)}\n${describeOutcome(pieces)}`,
  );

  if (whole.head === null) return;
  const { status, headers } = whole.head;
  const noBody = headRequest || status === 204 || status === 304;
  if (noBody) invariant(whole.body.length === 0, `a body for ${headRequest ? 'HEAD' : status}`);
  const cl = headers['content-length'];
  if (!noBody && whole.ended && typeof cl === 'string' && headers['transfer-encoding'] === undefined) {
    invariant(whole.body.length === Number(cl), `content-length ${cl} but ${whole.body.length} body bytes`);
  }

  if (!whole.ended || whole.error !== null) return;
  const again = run(serialise(status, headers, whole.body), headRequest, []);
  invariant(again.error === null, `the response written out again does not parse: ${again.error}`);
  invariant(again.ended && again.head !== null && again.head.status === status, 'the response written out again lost its status or end');
  const strip = (h: Headers) => JSON.stringify(Object.entries(h).filter(([k]) => k !== 'content-length' && k !== 'transfer-encoding'));
  invariant(strip(again.head.headers) === strip(headers), `headers changed in the round trip: ${strip(headers)} → ${strip(again.head.headers)}`);
  invariant(again.body.equals(whole.body), 'body changed in the round trip');
}
