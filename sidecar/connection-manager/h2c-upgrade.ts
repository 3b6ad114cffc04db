// The h2c upgrade, ignored: an HTTP/1.1 request head rebuilt without Upgrade: h2c, HTTP2-Settings and their Connection tokens.
//
// RFC 9113 §3.1 retired the HTTP/1.1 → HTTP/2 upgrade and RFC 9110 §7.8 lets a server ignore
// Upgrade, so, as Envoy does, the request is served as the plain HTTP/1.1 request it also is.
// Node's HTTP/1.1 server has already handed the connection over as an upgrade by the time Ferry
// sees the request, so the head is rebuilt from the received field lines (names and values byte
// for byte, in order) and parsed again, followed by the bytes that came after it.

/** Whether an Upgrade header asks for h2c and nothing else. */
export function isH2cUpgrade(upgrade: string | string[] | undefined): boolean {
  return typeof upgrade === 'string' && upgrade.trim().toLowerCase() === 'h2c';
}

const DROPPED_TOKENS = new Set(['upgrade', 'http2-settings']);

/** The request head (through the blank line) without the h2c upgrade fields, as latin1 bytes. */
export function headWithoutH2cUpgrade(method: string, target: string, httpVersion: string, rawHeaders: readonly string[]): Buffer {
  let text = `${method} ${target} HTTP/${httpVersion}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    const lower = name.toLowerCase();
    if (lower === 'upgrade' || lower === 'http2-settings') continue;
    if (lower === 'connection') {
      const kept = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !DROPPED_TOKENS.has(t.toLowerCase()));
      if (kept.length > 0) text += `${name}: ${kept.join(', ')}\r\n`;
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}
