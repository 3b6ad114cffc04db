// Tests for the push debouncer state: quiet period, coalescing, and the bound on delay.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DebounceState } from './debounce';

test('events closer than the quiet period coalesce into one fire', () => {
  const d = new DebounceState(100, 1000);
  assert.equal(d.dueAt(), null);
  assert.equal(d.event(0), 100);
  assert.equal(d.event(50), 150);
  assert.equal(d.fire(149), false);
  assert.equal(d.fire(150), true);
  assert.equal(d.pending, false);
  assert.equal(d.fire(1000), false, 'nothing pending after a fire');
});

test('a steady stream of events still fires at the max delay after the first', () => {
  const d = new DebounceState(100, 300);
  const fires: number[] = [];
  for (let t = 0; t <= 1000; t += 10) {
    if (t % 50 === 0) d.event(t);
    if (d.fire(t)) fires.push(t);
  }
  assert.deepEqual(fires.slice(0, 3), [300, 650, 1000]);
});

test('table: due times', () => {
  const cases: [number, number, number[], number | null][] = [
    [100, 1000, [], null],
    [100, 1000, [0], 100],
    [100, 1000, [0, 90, 180], 280],
    [100, 250, [0, 90, 180], 250],
    [0, 0, [5], 5],
  ];
  for (const [quiet, max, events, due] of cases) {
    const d = new DebounceState(quiet, max);
    for (const e of events) d.event(e);
    assert.equal(d.dueAt(), due, `${quiet}/${max} ${events}`);
  }
  assert.throws(() => new DebounceState(100, 50), RangeError);
});

test('events reported late run the quiet period from when they happened, and keep the earliest first', () => {
  const d = new DebounceState(100, 1000);
  // A source saw events at 10 and 30 and reports them together at 45.
  assert.equal(d.event(30, 10), 130);
  assert.equal(d.firstEventAt, 10);
  // A later report of an older event neither moves the quiet period back nor the first event forward.
  assert.equal(d.event(20, 15), 130);
  assert.equal(d.firstEventAt, 10);
  assert.equal(d.fire(130), true);
  // After a fire, a new batch starts from its own events.
  assert.equal(d.event(500, 480), 600);
  assert.equal(d.firstEventAt, 480);
});
