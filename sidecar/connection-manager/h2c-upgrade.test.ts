// Tests for ignoring the h2c upgrade: which requests ask for it, and the head rebuilt without it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headWithoutH2cUpgrade, isH2cUpgrade } from './h2c-upgrade';

describe('h2c upgrade', () => {
  test('only an Upgrade of exactly h2c is one', () => {
    assert.deepEqual(
      ['h2c', ' H2C ', 'websocket', 'h2c, websocket', '', undefined].map((u) => isH2cUpgrade(u)),
      [true, true, false, false, false, false],
    );
  });

  test('the head loses Upgrade, HTTP2-Settings and their Connection tokens; everything else stays byte for byte', () => {
    const head = headWithoutH2cUpgrade('POST', '/a?b', '1.1', [
      'Host', 'x.test',
      'Connection', 'Upgrade, HTTP2-Settings, keep-alive',
      'Upgrade', 'h2c',
      'HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA',
      'X-Latin1', 'caf\u00e9',
      'Content-Length', '5',
    ]);
    assert.equal(head.toString('latin1'), 'POST /a?b HTTP/1.1\r\nHost: x.test\r\nConnection: keep-alive\r\nX-Latin1: caf\u00e9\r\nContent-Length: 5\r\n\r\n');
    assert.equal(head[head.indexOf('caf') + 3], 0xe9, 'a latin1 byte stays one byte');
  });

  test('a Connection header left with no tokens is dropped', () => {
    const head = headWithoutH2cUpgrade('GET', '/', '1.1', ['host', 'x', 'connection', 'upgrade,http2-settings', 'upgrade', 'h2c']);
    assert.equal(head.toString('latin1'), 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  });
});
