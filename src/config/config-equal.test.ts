// Table tests for configEqual: what counts as the same configuration and what as changed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configEqual } from './config-equal';

class Opaque {
  constructor(readonly x: number) {}
}
const fn = (): number => 1;
const shared = new Opaque(1);

const CASES: { name: string; a: unknown; b: unknown; equal: boolean }[] = [
  { name: 'equal primitives', a: 3, b: 3, equal: true },
  { name: 'NaN is NaN', a: NaN, b: NaN, equal: true },
  { name: 'null and an object', a: null, b: {}, equal: false },
  { name: 'number and string', a: 1, b: '1', equal: false },
  { name: 'nested plain objects', a: { x: [1, { y: 'z' }] }, b: { x: [1, { y: 'z' }] }, equal: true },
  { name: 'a nested value changed', a: { x: [1, { y: 'z' }] }, b: { x: [1, { y: 'w' }] }, equal: false },
  { name: 'a key missing', a: { x: 1, y: undefined }, b: { x: 1 }, equal: false },
  { name: 'keys in another order', a: { x: 1, y: 2 }, b: { y: 2, x: 1 }, equal: true },
  { name: 'array and object', a: [1], b: { 0: 1 }, equal: false },
  { name: 'arrays of other lengths', a: [1, 2], b: [1], equal: false },
  { name: 'RegExps with the same source and flags', a: /^a+$/i, b: /^a+$/i, equal: true },
  { name: 'RegExps with other sources', a: /^a+$/, b: /^b+$/, equal: false },
  { name: 'RegExps with other flags', a: /a/, b: /a/i, equal: false },
  { name: 'RegExp and a plain object', a: /a/, b: {}, equal: false },
  { name: 'Sets with the same members', a: new Set([502, 503]), b: new Set([502, 503]), equal: true },
  { name: 'Sets with other members', a: new Set([502, 503]), b: new Set([502, 504]), equal: false },
  { name: 'Maps with the same entries', a: new Map([['a', { x: 1 }]]), b: new Map([['a', { x: 1 }]]), equal: true },
  { name: 'Maps with another value', a: new Map([['a', 1]]), b: new Map([['a', 2]]), equal: false },
  { name: 'Buffers with the same bytes', a: Buffer.from('cert'), b: Buffer.from('cert'), equal: true },
  { name: 'Buffers with other bytes', a: Buffer.from('cert'), b: Buffer.from('cerx'), equal: false },
  { name: 'Buffer and a string', a: Buffer.from('a'), b: 'a', equal: false },
  { name: 'the same function', a: { f: fn }, b: { f: fn }, equal: true },
  { name: 'two functions alike', a: { f: (): number => 1 }, b: { f: (): number => 1 }, equal: false },
  { name: 'the same class instance', a: { o: shared }, b: { o: shared }, equal: true },
  { name: 'two class instances alike (not looked into)', a: new Opaque(1), b: new Opaque(1), equal: false },
  { name: 'frozen and unfrozen', a: Object.freeze({ x: [1] }), b: { x: [1] }, equal: true },
];

for (const c of CASES) {
  test(`configEqual: ${c.name}`, () => {
    assert.equal(configEqual(c.a, c.b), c.equal);
    assert.equal(configEqual(c.b, c.a), c.equal, 'symmetric');
  });
}
