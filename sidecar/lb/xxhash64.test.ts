// Tests for xxHash64: published vectors and agreement with a plain BigInt reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashHeaderValue, xxh64, xxh64Into } from './xxhash64';
import { seededRandom } from './seeded-random.fixture';

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1) & M) + P4 & M;

/** Straightforward reference implementation of the xxHash64 specification. */
function reference(b: Uint8Array, seed: bigint): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M;
    let v2 = (seed + P2) & M;
    let v3 = seed;
    let v4 = (seed - P1) & M;
    while (p + 32 <= len) {
      v1 = round(v1, dv.getBigUint64(p, true));
      v2 = round(v2, dv.getBigUint64(p + 8, true));
      v3 = round(v3, dv.getBigUint64(p + 16, true));
      v4 = round(v4, dv.getBigUint64(p + 24, true));
      p += 32;
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) h = (rotl(h ^ round(0n, dv.getBigUint64(p, true)), 27n) * P1 + P4) & M;
  if (p + 4 <= len) {
    h = (rotl(h ^ ((BigInt(dv.getUint32(p, true)) * P1) & M), 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(b[p]!) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  return h ^ (h >> 32n);
}

test('xxh64 matches published vectors', () => {
  const cases: [string, number, bigint][] = [
    ['', 0, 0xef46db3751d8e999n],
    ['a', 0, 0xd24ec4f1a98c6e5bn],
    ['abc', 0, 0x44bc2cf5ad770999n],
    ['Nobody inspects the spammish repetition', 0, 0xfbcea83c8a378bf1n],
  ];
  for (const [input, seed, want] of cases) {
    assert.equal(xxh64(input, seed), want, `xxh64(${JSON.stringify(input)})`);
    assert.equal(xxh64(Buffer.from(input), seed), want);
    assert.equal(hashHeaderValue(input), want);
  }
});

test('xxh64 agrees with the BigInt reference for every length 0–200 and several seeds', () => {
  const random = seededRandom(42);
  for (const seed of [0, 1, 0xffffffff, 2 ** 40 + 7]) {
    for (let len = 0; len <= 200; len++) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(random() * 256);
      assert.equal(xxh64(bytes, seed), reference(bytes, BigInt(seed)), `len ${len} seed ${seed}`);
    }
  }
});

test('strings hash as their UTF-8 bytes, including long ones past the scratch buffer', () => {
  for (const s of ['héllo wörld ✓', '10.0.0.1:8080_17', 'x'.repeat(10000) + '€']) {
    assert.equal(xxh64(s), reference(Buffer.from(s, 'utf8'), 0n));
    assert.equal(hashHeaderValue(s), xxh64(s));
  }
});

test('xxh64Into writes the high and low halves', () => {
  const out = new Uint32Array(2);
  xxh64Into('abc', 0, out);
  assert.deepEqual([out[0], out[1]], [0x44bc2cf5, 0xad770999]);
  xxh64Into('abc', 1, out);
  assert.equal((BigInt(out[0]!) << 32n) | BigInt(out[1]!), reference(Buffer.from('abc'), 1n));
});

test('xxh64 rejects a negative or fractional seed', () => {
  assert.throws(() => xxh64('a', -1), RangeError);
  assert.throws(() => xxh64('a', 1.5), RangeError);
});
