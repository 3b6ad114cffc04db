// The router: sends a routed request to its cluster — pick, admit, attempt, retry, time out — and
// streams the chosen response back. Every failure becomes a local reply and a metric, never a throw.

import type * as http from 'node:http';
import type { Clock, Timer } from '../../src/clock/clock';
import type { RetryPolicyConfig, RouteActionConfig } from '../../src/config/types';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { UpstreamCluster, UpstreamHost } from '../cluster/upstream-cluster';
import { startAttempt, type AttemptHandler, type UpstreamAttempt, type UpstreamFailure } from '../upstream/upstream-request';
import type { RequestBody } from './request-body';
import { Flags } from '../http/local-reply';
import { downstreamResponseHeaders } from '../http/headers';
import { decideRetry, retryBackoffMs, type RetryOutcome } from './retry-policy';

/** What the connection manager hands the router for one request. */
export interface RoutedRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  readonly headers: Record<string, string | string[]>;
  readonly isGrpc: boolean;
  readonly hash: bigint | null;
  readonly body: RequestBody;
  readonly action: RouteActionConfig;
  readonly retryPolicy: RetryPolicyConfig | null;
  /** Where the downstream connection was going (ORIGINAL_DST clusters connect there). */
  readonly originalDst: { readonly host: string; readonly port: number } | null;
}

/** The router's view of the downstream response, implemented by the connection manager. */
export interface RouterResponder {
  /** Forward the upstream response headers (status, filtered headers). */
  sendHeaders(status: number, headers: Record<string, string | string[]>): void;
  /** Returns false when the downstream is backed up; `onDrain` is then called once. */
  sendData(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  sendEnd(trailers: Record<string, string | string[] | undefined> | null): void;
  localReply(status: number, body: string, flag: string): void;
  /** Reset the downstream stream (headers already sent, upstream failed mid-body). */
  reset(flag: string): void;
  readonly headersSent: boolean;
  /** The router is done with the request (answered, failed or cancelled). */
  onRouterComplete(): void;
}

export interface RouterDeps {
  readonly metrics: ProxyMetrics;
  /** Timeouts, back-off and idle checks. */
  readonly clock: Clock;
  readonly random: () => number;
  /** The router filter's suppress_envoy_headers: no x-envoy-* header is added to upstream requests. */
  readonly suppressEnvoyHeaders?: boolean;
}

const EMPTY_EXCLUDE: ReadonlySet<string> = new Set();

// Timer callbacks shared by every request (the router rides along as the argument), so arming a
// timeout allocates no closure.
function onGlobalTimer(r: RouterStream): void {
  r.onGlobalTimeout();
}
function onPerTryTimer(r: RouterStream): void {
  r.onPerTryTimeout();
}
function onBackoffTimer(r: RouterStream): void {
  r.onBackoffDone();
}
function onPerTryIdleTimer(r: RouterStream): void {
  r.onPerTryIdleTimeout();
}

export class RouterStream implements AttemptHandler {
  private attempt: UpstreamAttempt | null = null;
  private host: UpstreamHost | null = null;
  private attempts = 0;
  /** Upstream attempts made so far (the access log's %UPSTREAM_REQUEST_ATTEMPT_COUNT%). */
  get attemptCount(): number {
    return this.attempts;
  }
  private retriesAcquired = 0;
  private requestAcquired = false;
  private globalTimer: Timer | null = null;
  private perTryTimer: Timer | null = null;
  private backoffTimer: Timer | null = null;
  private perTryIdleTimer: Timer | null = null;
  /** When the current attempt last made progress (per_try_idle_timeout), by `deps.now`. */
  private attemptActivityAt = 0;
  /** Hosts tried so far, kept only once a second attempt starts (the first is in upstreamHostKey). */
  private tried: Set<string> | null = null;
  private finished = false;
  /** A retry was refused because the body could not be replayed (said in the local reply). */
  private notReplayable = false;
  private pausedUpstream: { pause(): void; resume(): void } | null = null;
  /** Response flag of the outcome, for metrics ('' when the upstream answered normally). */
  flag = '';
  upstreamHostKey = '';

  constructor(
    private readonly cluster: UpstreamCluster,
    private readonly req: RoutedRequest,
    private readonly out: RouterResponder,
    private readonly deps: RouterDeps,
  ) {}

  start(): void {
    const res = this.cluster.resources;
    if (!res.tryAcquire('requests')) {
      this.deps.metrics.overflow.labels(this.cluster.name, 'max_requests').inc();
      return this.fail(503, 'upstream overflow: max_requests', Flags.upstreamOverflow);
    }
    this.requestAcquired = true;
    this.startAttempt();
    if (this.req.body.complete) this.armRequestTimers();
  }

  /**
   * The route timeout and the per-try timeouts run from when the downstream request is complete (as
   * Envoy's do): an upload's own duration never counts against them.
   */
  private armRequestTimers(): void {
    if (this.finished) return;
    const t = this.req.action.timeoutMs;
    if (t > 0 && this.globalTimer === null) this.globalTimer = this.deps.clock.setTimeoutWith(onGlobalTimer, t, this);
    if (this.attempt !== null) this.armPerTryTimers();
  }

  private armPerTryTimers(): void {
    const policy = this.req.retryPolicy;
    if (policy === null) return;
    if (policy.perTryTimeoutMs > 0 && this.perTryTimer === null) {
      this.perTryTimer = this.deps.clock.setTimeoutWith(onPerTryTimer, policy.perTryTimeoutMs, this);
    }
    if (policy.perTryIdleTimeoutMs > 0 && this.perTryIdleTimer === null) {
      this.attemptActivityAt = this.deps.clock.now();
      this.perTryIdleTimer = this.deps.clock.setTimeoutWith(onPerTryIdleTimer, policy.perTryIdleTimeoutMs, this);
    }
  }

  /** The downstream request body is complete (called by the connection manager). */
  onBodyComplete(): void {
    this.armRequestTimers();
  }

  /** Request body bytes arrived: progress for the current attempt. */
  onBodyProgress(): void {
    if (this.perTryIdleTimer !== null) this.attemptActivityAt = this.deps.clock.now();
  }

  private startAttempt(): void {
    const policy = this.req.retryPolicy;
    if (this.attempts > 0 && this.tried === null) this.tried = new Set([this.upstreamHostKey]);
    const exclude = this.tried !== null && policy !== null && policy.retryOnDifferentHost ? this.tried : EMPTY_EXCLUDE;
    const od = this.req.originalDst;
    const host =
      this.cluster.config.type === 'ORIGINAL_DST'
        ? od !== null
          ? this.cluster.originalDstHost(od.host, od.port)
          : null
        : this.cluster.pick({
            hash: this.req.hash,
            exclude,
            maxExcludeAttempts: policy?.hostSelectionRetryMaxAttempts ?? 1,
          });
    if (host === null) return this.fail(503, 'no healthy upstream', Flags.noHealthyUpstream);
    const res = this.cluster.resources;
    // A request waits as "pending" while the cluster is at max_connections (max_pending_requests).
    let pending = false;
    if (!res.canAcquire('connections') && !this.cluster.config.http2) {
      if (!res.tryAcquire('pendingRequests')) {
        this.deps.metrics.overflow.labels(this.cluster.name, 'max_pending_requests').inc();
        return this.fail(503, 'upstream overflow: max_pending_requests', Flags.upstreamOverflow);
      }
      pending = true;
    }
    this.attempts++;
    this.host = host;
    this.upstreamHostKey = host.key;
    host.stats.activeRequests++;
    host.stats.totalRequests++;
    if (this.tried !== null) this.tried.add(host.key);
    const r = this.req;
    const attempt = startAttempt(
      host,
      this.cluster.config.http2 !== null,
      {
        method: r.method,
        path: r.path,
        authority: r.authority,
        scheme: r.scheme,
        headers: this.attempts === 1 || this.deps.suppressEnvoyHeaders ? r.headers : { ...r.headers, 'x-envoy-attempt-count': String(this.attempts) },
        connectTimeoutMs: this.cluster.config.connectTimeoutMs,
        clock: this.deps.clock,
      },
      this,
    );
    this.attempt = attempt;
    if (pending) {
      // Released when the attempt gets any answer (connection obtained) or fails.
      this.pendingHeld = true;
    }
    if (!r.body.attach(attempt)) {
      // Never reached: a retry is only scheduled while the body can be replayed whole, and the body
      // is kept (the client paused) while no attempt is attached. Fail visibly rather than send part.
      this.attempt = null;
      this.releaseHost();
      attempt.abort();
      return this.fail(503, 'upstream request body could not be replayed', Flags.upstreamRetryLimitExceeded);
    }
    if (r.body.complete && this.attempts > 1) this.armPerTryTimers();
  }

  private pendingHeld = false;

  private releasePending(): void {
    if (this.pendingHeld) {
      this.pendingHeld = false;
      this.cluster.resources.release('pendingRequests');
    }
  }

  private releaseHost(): void {
    const h = this.host;
    if (h !== null) {
      h.stats.activeRequests--;
      this.host = null;
    }
    this.clearPerTryTimers();
    this.releasePending();
  }

  private clearPerTryTimers(): void {
    if (this.perTryTimer !== null) {
      this.deps.clock.clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    if (this.perTryIdleTimer !== null) {
      this.deps.clock.clearTimeout(this.perTryIdleTimer);
      this.perTryIdleTimer = null;
    }
  }

  // ─── AttemptHandler ───

  onResponse(status: number, headers: http.IncomingHttpHeaders): void {
    if (this.finished) return;
    this.releasePending();
    const host = this.host;
    if (host !== null) this.cluster.recordOutcome(host, { kind: 'http', status });
    if (status >= 500 || this.req.retryPolicy !== null) {
      const grpc = headers['grpc-status'];
      const outcome: RetryOutcome = {
        status,
        headers: headers as Record<string, string | string[] | undefined>,
        grpcStatus: grpc !== undefined ? Number(grpc) : null,
      };
      if (this.maybeRetry(outcome)) return;
    }
    if (this.perTryTimer !== null) {
      // The per-try timeout ends with the response headers; the idle one keeps watching the body.
      this.deps.clock.clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    if (this.perTryIdleTimer !== null) this.attemptActivityAt = this.deps.clock.now();
    this.out.sendHeaders(status, downstreamResponseHeaders(headers));
  }

  onData(chunk: Buffer): void {
    if (this.finished) return;
    if (this.perTryIdleTimer !== null) this.attemptActivityAt = this.deps.clock.now();
    if (!this.out.sendData(chunk)) {
      const a = this.attempt;
      if (a !== null && this.pausedUpstream === null) {
        this.pausedUpstream = a;
        a.pause();
        this.out.onDrain(() => {
          const p = this.pausedUpstream;
          this.pausedUpstream = null;
          p?.resume();
        });
      }
    }
  }

  onEnd(trailers: Record<string, string | string[] | undefined> | null): void {
    if (this.finished) return;
    this.releaseHost();
    this.out.sendEnd(trailers);
    this.complete();
  }

  onError(kind: UpstreamFailure, err: Error): void {
    if (this.finished) return;
    const host = this.host;
    this.releaseHost();
    if (host !== null) {
      this.cluster.recordOutcome(
        host,
        kind === 'connect_failure' || kind === 'connect_timeout'
          ? { kind: 'connect_failure' }
          : kind === 'protocol_error'
            ? { kind: 'http', status: 502 }
            : { kind: 'reset' },
      );
    }
    if (this.out.headersSent) {
      this.out.reset(Flags.upstreamRemoteReset);
      this.flag = Flags.upstreamRemoteReset;
      return this.complete();
    }
    const outcome: RetryOutcome =
      kind === 'connect_failure' || kind === 'connect_timeout'
        ? { connectFailure: true, reset: true }
        : kind === 'refused_stream'
          ? { refusedStream: true, reset: true }
          : kind === 'protocol_error'
            ? { status: 502 }
            : { reset: true };
    if (this.maybeRetry(outcome)) return;
    switch (kind) {
      case 'connect_failure':
      case 'connect_timeout':
        return this.fail(
          503,
          `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${err.message}`,
          Flags.upstreamConnectionFailure,
        );
      case 'protocol_error':
        return this.fail(502, `upstream protocol error: ${err.message}`, Flags.upstreamProtocolError);
      case 'refused_stream':
      case 'reset':
        return this.fail(
          503,
          'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
          Flags.upstreamConnectionTermination,
        );
    }
  }

  // ─── retries and timeouts ───

  /** Returns true when a retry was scheduled (the current attempt is abandoned). */
  private maybeRetry(outcome: RetryOutcome): boolean {
    const policy = this.req.retryPolicy;
    if (policy === null) return false;
    const decision = decideRetry(policy, outcome, this.attempts, this.req.headers);
    if (decision === 'no') return false;
    if (decision === 'exhausted') {
      this.flag = Flags.upstreamRetryLimitExceeded;
      return false;
    }
    if (!this.req.body.replayable) {
      // Part of the body went upstream without being kept (it outgrew the retry buffer): a retry
      // would send a different body. Not retried; the failure reaches the client as it is.
      this.deps.metrics.retries.labels(this.cluster.name, 'not_replayable').inc();
      this.notReplayable = true;
      return false;
    }
    if (!this.cluster.resources.tryAcquire('retries')) {
      this.deps.metrics.overflow.labels(this.cluster.name, 'max_retries').inc();
      this.deps.metrics.retries.labels(this.cluster.name, 'overflow').inc();
      this.flag = Flags.upstreamOverflow;
      return false;
    }
    this.retriesAcquired++;
    this.deps.metrics.retries.labels(this.cluster.name, 'attempted').inc();
    const a = this.attempt;
    this.attempt = null;
    this.req.body.detach();
    if (a !== null) a.abort();
    this.releaseHost();
    const delay = retryBackoffMs(policy, this.attempts, this.deps.random);
    this.backoffTimer = this.deps.clock.setTimeoutWith(onBackoffTimer, delay, this);
    return true;
  }

  /** @internal timer callback */
  onBackoffDone(): void {
    this.backoffTimer = null;
    if (!this.finished) this.startAttempt();
  }

  /** @internal timer callback */
  onPerTryTimeout(): void {
    this.perTryTimer = null;
    if (this.finished || this.out.headersSent) return;
    this.deps.metrics.upstreamTimeouts.labels(this.cluster.name, 'per_try').inc();
    this.attemptTimedOut();
  }

  /** @internal timer callback: per_try_idle_timeout, checked lazily against the last progress. */
  onPerTryIdleTimeout(): void {
    this.perTryIdleTimer = null;
    if (this.finished) return;
    const idle = this.req.retryPolicy?.perTryIdleTimeoutMs ?? 0;
    const left = this.attemptActivityAt + idle - this.deps.clock.now();
    if (left > 0) {
      this.perTryIdleTimer = this.deps.clock.setTimeoutWith(onPerTryIdleTimer, left, this);
      return;
    }
    this.deps.metrics.upstreamTimeouts.labels(this.cluster.name, 'per_try_idle').inc();
    if (this.out.headersSent) {
      const a = this.attempt;
      this.attempt = null;
      if (a !== null) a.abort();
      this.releaseHost();
      this.flag = Flags.upstreamRequestTimeout;
      this.out.reset(Flags.upstreamRequestTimeout);
      return this.complete();
    }
    this.attemptTimedOut();
  }

  private attemptTimedOut(): void {
    const a = this.attempt;
    const host = this.host;
    if (host !== null) this.cluster.recordOutcome(host, { kind: 'timeout' });
    if (this.maybeRetry({ status: 504, reset: true, timeout: true })) return;
    this.attempt = null;
    if (a !== null) a.abort();
    this.releaseHost();
    this.fail(504, 'upstream request timeout', Flags.upstreamRequestTimeout);
  }

  /** @internal timer callback */
  onGlobalTimeout(): void {
    this.globalTimer = null;
    if (this.finished) return;
    this.deps.metrics.upstreamTimeouts.labels(this.cluster.name, 'route').inc();
    const a = this.attempt;
    const host = this.host;
    this.attempt = null;
    if (a !== null) a.abort();
    if (host !== null) this.cluster.recordOutcome(host, { kind: 'timeout' });
    this.releaseHost();
    if (this.out.headersSent) {
      this.flag = Flags.upstreamRequestTimeout;
      this.out.reset(Flags.upstreamRequestTimeout);
      return this.complete();
    }
    this.fail(504, 'upstream request timeout', Flags.upstreamRequestTimeout);
  }

  /**
   * The connection manager gives up on the request (stream idle timeout): the attempt is abandoned
   * and the client answered `status` with `flag` (or reset when the response has started).
   */
  abandon(status: number, body: string, flag: string): void {
    if (this.finished) return;
    const a = this.attempt;
    this.attempt = null;
    if (a !== null) a.abort();
    this.releaseHost();
    this.fail(status, body, flag);
  }

  /** The downstream went away: stop everything. */
  cancel(): void {
    if (this.finished) return;
    this.flag = Flags.downstreamConnectionTermination;
    const a = this.attempt;
    this.attempt = null;
    if (a !== null) a.abort();
    this.releaseHost();
    this.complete();
  }

  private fail(status: number, body: string, flag: string): void {
    if (this.finished) return;
    // Why the failure was not retried stays visible next to the failure itself: URX (retries used
    // up) or UO (the retry circuit breaker was full).
    const why = this.flag;
    this.flag = (why === Flags.upstreamRetryLimitExceeded || why === Flags.upstreamOverflow) && why !== flag ? `${flag},${why}` : flag;
    if (this.notReplayable) body += ' (not retried: the request body outgrew the retry buffer)';
    this.out.localReply(status, body, this.flag);
    this.complete();
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.globalTimer) this.deps.clock.clearTimeout(this.globalTimer);
    if (this.backoffTimer) this.deps.clock.clearTimeout(this.backoffTimer);
    this.clearPerTryTimers();
    this.req.body.release();
    const res = this.cluster.resources;
    if (this.requestAcquired) res.release('requests');
    while (this.retriesAcquired > 0) {
      this.retriesAcquired--;
      res.release('retries');
    }
    this.out.onRouterComplete();
  }
}
