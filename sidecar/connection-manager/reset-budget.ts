// The early-reset budget of one HTTP/2 connection: a token bucket that decides when a client resetting streams is abusive.
//
// A stream the client resets before its response completed costs the proxy work (a request routed,
// perhaps an upstream request started) and costs the client one frame. Each such reset takes a
// token; tokens come back at a steady rate up to the burst. An empty bucket means the connection is
// closed (see docs/decisions/0013-http2-abuse-limits.md). Pure: time is passed in.

export interface ResetBudgetConfig {
  /** Early resets a connection may make at once (the bucket's size). */
  readonly burst: number;
  /** Tokens regained per second, up to `burst`. */
  readonly refillPerSecond: number;
}

/**
 * Ferry's defaults. They must stay well inside the HTTP/2 library's own RST_STREAM limiter (nghttp2:
 * 1,000 at once, 33 per second), because a session that limiter shuts down is never destroyed by Node.
 */
export const DEFAULT_RESET_BUDGET: ResetBudgetConfig = Object.freeze({ burst: 200, refillPerSecond: 20 });

export class ResetBudget {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly config: ResetBudgetConfig,
    now: number,
  ) {
    this.tokens = config.burst;
    this.updatedAt = now;
  }

  /** Takes a token for an early reset at `now` (ms); false once the budget is spent (close the connection). */
  onEarlyReset(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True while recent early resets have not been paid back: the connection deserves a closer look. */
  suspicious(now: number): boolean {
    if (this.tokens >= this.config.burst) return false;
    this.refill(now);
    return this.tokens < this.config.burst;
  }

  /** Whole tokens left at `now` (for logs and tests). */
  remaining(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedAt;
    // A clock that goes backwards gives nothing back and moves the reference point.
    this.updatedAt = now;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.config.burst, this.tokens + (elapsed * this.config.refillPerSecond) / 1000);
  }
}
