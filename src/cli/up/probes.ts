// The kubelet's probes for `ferry up`: httpGet, tcpSocket and grpc against the pod's IP, with Kubernetes' timing and thresholds.

import type { Clock, Timer } from '../../clock/clock';
import type { Probe } from '../../../webhook/types';
import type { AppProbeAction } from '../../../sidecar/agent/app-probes';
import { runAppProbe } from '../../../sidecar/agent/app-probe-runner';

/**
 * A Kubernetes probe as the sidecar's probe runner takes it (the same code that runs a meshed pod's
 * rewritten probes), its ports resolved; null when a port does not resolve.
 */
export function probeAction(probe: Probe, resolvePort: (p: number | string | undefined) => number | null): AppProbeAction | null {
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port);
    if (port === null) return null;
    const scheme = probe.httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP';
    return { type: 'http', port, path: probe.httpGet.path ?? '/', scheme, headers: (probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value] as const) };
  }
  if (probe.grpc) {
    const port = resolvePort(probe.grpc.port);
    return port === null ? null : { type: 'grpc', port, service: probe.grpc.service ?? '' };
  }
  const port = resolvePort(probe.tcpSocket?.port);
  return port === null ? null : { type: 'tcp', port };
}

/** One probe attempt; resolves true on success (HTTP 200–399, a TCP connect, gRPC SERVING). */
export async function probeOnce(probe: Probe, host: string, resolvePort: (p: number | string | undefined) => number | null, clock: Clock): Promise<boolean> {
  const action = probeAction(probe, resolvePort);
  if (action === null) return false;
  const r = await runAppProbe(action, (probe.timeoutSeconds ?? 1) * 1000, { host, podIp: host, clock });
  return r.ok;
}

/** The pure threshold logic: consecutive successes and failures decide the state. */
export class ProbeState {
  private successes = 0;
  private failures = 0;
  constructor(
    private readonly successThreshold: number,
    private readonly failureThreshold: number,
    public passing: boolean,
  ) {}

  /** Records one result; returns true when `passing` changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      if (++this.successes >= this.successThreshold && !this.passing) return (this.passing = true);
    } else {
      this.successes = 0;
      if (++this.failures >= this.failureThreshold && this.passing) return !(this.passing = false);
    }
    return false;
  }

  /** Starts over from `passing` with no results counted (a restarted container's probe). */
  reset(passing: boolean): void {
    this.successes = 0;
    this.failures = 0;
    this.passing = passing;
  }
}

/**
 * A startupProbe's verdict, as the kubelet gives it: the first success starts the container's readiness
 * and liveness probes; failureThreshold consecutive failures before that restart the container.
 */
export class StartupGate {
  private failures = 0;
  started = false;
  constructor(private readonly failureThreshold: number) {}

  record(ok: boolean): 'started' | 'restart' | 'waiting' {
    if (this.started) return 'waiting';
    if (ok) {
      this.started = true;
      return 'started';
    }
    if (++this.failures >= this.failureThreshold) {
      this.failures = 0;
      return 'restart';
    }
    return 'waiting';
  }
}

/** Runs `probe` every periodSeconds after initialDelaySeconds; `onChange` hears each state change. Stop with `stop()`. */
export class ProbeLoop {
  readonly state: ProbeState;
  private timer: Timer | null = null;
  private stopped = false;
  /** Bumped by restart(), so a probe in flight across a restart is not counted. */
  private generation = 0;

  constructor(
    private readonly probe: Probe,
    private readonly host: string,
    private readonly resolvePort: (p: number | string | undefined) => number | null,
    private readonly clock: Clock,
    private readonly initiallyPassing: boolean,
    private readonly onChange: (passing: boolean) => void,
    /** Every result, changed or not (a startup probe counts them). */
    private readonly onResult?: (ok: boolean) => void,
  ) {
    this.state = new ProbeState(probe.successThreshold ?? 1, probe.failureThreshold ?? 3, initiallyPassing);
    this.timer = clock.setTimeout(() => void this.tick(), (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const generation = this.generation;
    const ok = await probeOnce(this.probe, this.host, this.resolvePort, this.clock);
    // Stopped, or restarted meanwhile: the answer was the old process's, and the restart scheduled the next tick.
    if (this.stopped || generation !== this.generation) return;
    this.onResult?.(ok);
    if (this.stopped) return;
    if (this.state.record(ok)) this.onChange(this.state.passing);
    // A short first period while not passing, so readiness shows quickly at start-up.
    const periodMs = (this.probe.periodSeconds ?? 10) * 1000;
    this.timer = this.clock.setTimeout(() => void this.tick(), this.state.passing ? periodMs : Math.min(periodMs, 500));
  }

  /**
   * The container restarted: as the kubelet does, its probe starts over from its initial state (a
   * readiness probe unready until it passes again, whatever the old process last answered) after
   * initialDelaySeconds. The state is reset silently: whoever restarted the container marks it.
   */
  restart(): void {
    if (this.stopped) return;
    this.clock.clearTimeout(this.timer);
    this.generation++;
    this.state.reset(this.initiallyPassing);
    this.timer = this.clock.setTimeout(() => void this.tick(), (this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }
}
