// Tests for the strict DER reader/writer used on the signing hot path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DerError, TAG, children, content, fromPem, oid, readWhole, time, tlv, toPem, unsignedInteger } from './der';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('readWhole rejects non-DER encodings', () => {
  const bad: Array<[string, string]> = [
    ['30', 'truncated header'],
    ['30 80 00 00', 'indefinite length'],
    ['04 81 05 0102030405', 'non-minimal length (long form for < 128)'],
    ['04 82 00 81' + '00'.repeat(0x81), 'non-minimal length (leading zero)'],
    ['04 84 00000001 00', 'length too large'],
    ['04 05 0102', 'truncated content'],
    ['04 01 01 00', 'trailing bytes'],
    ['1f 01 00', 'high tag number'],
    ['30 03 04 05 00', 'child overruns parent'],
  ];
  for (const [h, why] of bad) {
    assert.throws(() => children(readWhole(hex(h))), DerError, why);
  }
});

test('readWhole/children/content on well-formed input, short and long lengths', () => {
  const long = Buffer.alloc(300, 7);
  const der = tlv(TAG.SEQUENCE, tlv(TAG.INTEGER, Buffer.from([5])), tlv(TAG.OCTET_STRING, long));
  const [i, o] = children(readWhole(der));
  assert.equal(i.tag, TAG.INTEGER);
  assert.deepEqual(content(i), Buffer.from([5]));
  assert.deepEqual(content(o), long);
  assert.deepEqual(der.subarray(0, 4), hex('30 82 01 33'));
});

test('oid, unsignedInteger and time encodings', () => {
  assert.deepEqual(oid('1.2.840.10045.4.3.2'), hex('06 08 2a 86 48 ce 3d 04 03 02'));
  assert.deepEqual(oid('2.5.29.17'), hex('06 03 55 1d 11'));
  assert.deepEqual(unsignedInteger(hex('00 00 7f')), hex('02 01 7f'));
  assert.deepEqual(unsignedInteger(hex('80 01')), hex('02 03 00 80 01'));
  assert.deepEqual(unsignedInteger(hex('00')), hex('02 01 00'));
  assert.deepEqual(time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))), Buffer.concat([hex('17 0d'), Buffer.from('491231235959Z')]));
  assert.deepEqual(time(new Date(Date.UTC(2050, 0, 1, 0, 0, 0))), Buffer.concat([hex('18 0f'), Buffer.from('20500101000000Z')]));
});

test('toPem/fromPem round-trip; fromPem refuses other labels and bad base64', () => {
  const der = Buffer.alloc(100, 0xab);
  const pem = toPem(der, 'CERTIFICATE');
  assert.ok(pem.split('\n').every((l) => l.length <= 64));
  assert.deepEqual(fromPem(pem, 'CERTIFICATE'), der);
  assert.equal(fromPem(pem, 'CERTIFICATE REQUEST'), undefined);
  assert.equal(fromPem('-----BEGIN X-----\n*&^\n-----END X-----\n', 'X'), undefined);
});
