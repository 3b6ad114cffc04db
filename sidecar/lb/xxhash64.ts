// xxHash64 over strings and bytes, computed on 32-bit halves so that hashing allocates nothing.
//
// JavaScript has no 64-bit integer arithmetic short of BigInt, which allocates on every operation.
// Here every 64-bit value is a pair of uint32 numbers (high, low); the helpers below leave their
// result in the module registers `rh`/`rl`. The only allocation per hash is the final bigint (and
// none at all for `xxh64Into`). Strings are UTF-8 encoded into a reused scratch buffer.

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

const TWO_32 = 4294967296;

/** Result registers of the 64-bit helpers (high and low uint32 halves). */
let rh = 0;
let rl = 0;

/** (ah,al) × (bh,bl) mod 2^64. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  rl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  rh = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah,al) + (bh,bl) mod 2^64; inputs are uint32. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo >= TWO_32 ? 1 : 0)) >>> 0;
}

/** (ah,al) − (bh,bl) mod 2^64; inputs are uint32. */
function sub(ah: number, al: number, bh: number, bl: number): void {
  const lo = al - bl;
  rl = lo >>> 0;
  rh = (ah - bh - (lo < 0 ? 1 : 0)) >>> 0;
}

/** Rotate left by 0 < r < 32. */
function rotl(h: number, l: number, r: number): void {
  const nh = (h << r) | (l >>> (32 - r));
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
  rh = nh >>> 0;
}

/** acc = rotl(acc + input × P2, 31) × P1 */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(ah, al, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/** acc = (acc ^ round(0, v)) × P1 + P4 */
function mergeRound(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((ah ^ rh) >>> 0, (al ^ rl) >>> 0, P1H, P1L);
  add(rh, rl, P4H, P4L);
}

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Hashes b[0, len) with the seed (seedH, seedL); leaves the digest in rh/rl. */
function hashBytes(b: Uint8Array, len: number, seedH: number, seedL: number): void {
  let p = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    add(seedH, seedL, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh;
    let v1l = rl;
    add(seedH, seedL, P2H, P2L);
    let v2h = rh;
    let v2l = rl;
    let v3h = seedH;
    let v3l = seedL;
    sub(seedH, seedL, P1H, P1L);
    let v4h = rh;
    let v4l = rl;
    const limit = len - 32;
    do {
      round(v1h, v1l, le32(b, p + 4), le32(b, p));
      v1h = rh;
      v1l = rl;
      round(v2h, v2l, le32(b, p + 12), le32(b, p + 8));
      v2h = rh;
      v2l = rl;
      round(v3h, v3l, le32(b, p + 20), le32(b, p + 16));
      v3h = rh;
      v3l = rl;
      round(v4h, v4l, le32(b, p + 28), le32(b, p + 24));
      v4h = rh;
      v4l = rl;
      p += 32;
    } while (p <= limit);
    rotl(v1h, v1l, 1);
    hh = rh;
    hl = rl;
    rotl(v2h, v2l, 7);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v3h, v3l, 12);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v4h, v4l, 18);
    add(hh, hl, rh, rl);
    mergeRound(rh, rl, v1h, v1l);
    mergeRound(rh, rl, v2h, v2l);
    mergeRound(rh, rl, v3h, v3l);
    mergeRound(rh, rl, v4h, v4l);
    hh = rh;
    hl = rl;
  } else {
    add(seedH, seedL, P5H, P5L);
    hh = rh;
    hl = rl;
  }
  add(hh, hl, Math.floor(len / TWO_32) >>> 0, len >>> 0);
  hh = rh;
  hl = rl;
  while (p + 8 <= len) {
    round(0, 0, le32(b, p + 4), le32(b, p));
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh;
    hl = rl;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, le32(b, p), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh;
    hl = rl;
    p += 4;
  }
  while (p < len) {
    mul(0, b[p]!, P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh;
    hl = rl;
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  mul(hh, (hl ^ (hh >>> 1)) >>> 0, P2H, P2L);
  hh = rh;
  hl = rl;
  mul((hh ^ (hh >>> 29)) >>> 0, (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0, P3H, P3L);
  rl = (rl ^ rh) >>> 0;
}

const SCRATCH_SIZE = 8192;
const scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
const out64 = new DataView(new ArrayBuffer(8));

function hashInput(input: string | Uint8Array, seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`xxh64 seed must be a non-negative safe integer, got ${seed}`);
  const seedH = Math.floor(seed / TWO_32) >>> 0;
  const seedL = seed >>> 0;
  if (typeof input !== 'string') {
    hashBytes(input, input.length, seedH, seedL);
  } else if (input.length * 3 <= SCRATCH_SIZE) {
    hashBytes(scratch, scratch.write(input, 0, 'utf8'), seedH, seedL);
  } else {
    const bytes = Buffer.from(input, 'utf8');
    hashBytes(bytes, bytes.length, seedH, seedL);
  }
}

function toBigInt(): bigint {
  out64.setUint32(0, rh);
  out64.setUint32(4, rl);
  return out64.getBigUint64(0);
}

/** xxHash64 of the UTF-8 bytes of a string, or of raw bytes, as an unsigned 64-bit bigint. */
export function xxh64(input: string | Uint8Array, seed = 0): bigint {
  hashInput(input, seed);
  return toBigInt();
}

/** xxHash64 written as uint32 halves into out[0] (high) and out[1] (low); allocates nothing. */
export function xxh64Into(input: string | Uint8Array, seed: number, out: Uint32Array): void {
  hashInput(input, seed);
  out[0] = rh;
  out[1] = rl;
}

/** The data path's fast path: xxHash64 (seed 0) of a header value for hash_policy. */
export function hashHeaderValue(value: string): bigint {
  if (value.length * 3 <= SCRATCH_SIZE) {
    hashBytes(scratch, scratch.write(value, 0, 'utf8'), 0, 0);
  } else {
    const bytes = Buffer.from(value, 'utf8');
    hashBytes(bytes, bytes.length, 0, 0);
  }
  return toBigInt();
}
