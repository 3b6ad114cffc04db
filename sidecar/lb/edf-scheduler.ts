// An earliest-deadline-first queue of entry indices, a binary heap in typed arrays (no allocation per operation).

/**
 * Holds up to `capacity` entries, each an index in [0, capacity) with a deadline and a tie-break
 * key; `pop` returns the index with the smallest (deadline, tie). Weighted schedulers push an
 * entry back with `deadline + 1 / weight` after popping it, so over time entry i is popped in
 * proportion to its weight.
 */
export class EdfScheduler {
  private readonly heap: Uint32Array;
  private readonly deadlines: Float64Array;
  private readonly ties: Float64Array;
  private count = 0;
  /** Deadline of the entry most recently popped: the scheduler's "current time". */
  now = 0;

  constructor(capacity: number) {
    this.heap = new Uint32Array(capacity);
    this.deadlines = new Float64Array(capacity);
    this.ties = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds entry `index` (not already queued). */
  push(index: number, deadline: number, tie: number): void {
    this.deadlines[index] = deadline;
    this.ties[index] = tie;
    const heap = this.heap;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.before(index, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = index;
  }

  /** Removes and returns the earliest entry, or -1 when empty; sets `now` to its deadline. */
  pop(): number {
    if (this.count === 0) return -1;
    const heap = this.heap;
    const top = heap[0]!;
    this.now = this.deadlines[top]!;
    const last = heap[--this.count]!;
    const n = this.count;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(heap[child + 1]!, heap[child]!)) child++;
      const c = heap[child]!;
      if (!this.before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    if (n > 0) heap[i] = last;
    return top;
  }

  private before(a: number, b: number): boolean {
    const da = this.deadlines[a]!;
    const db = this.deadlines[b]!;
    return da < db || (da === db && this.ties[a]! < this.ties[b]!);
  }
}
