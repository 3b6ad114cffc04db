// The kubelet's probes for `ferry up`: httpGet and tcpSocket against the pod's IP, with Kubernetes' timing and thresholds.

import * as http from 'node:http';
import * as net from 'node:net';
import type { Clock, Timer } from '../../clock/clock';
import type { Probe } from '../../../webhook/types';

/** One probe attempt; resolves true on success (HTTP 200–399, or a TCP connect). */
export function probeOnce(probe: Probe, host: string, resolvePort: (p: number | string | undefined) => number | null): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    if (probe.httpGet) {
      const port = resolvePort(probe.httpGet.port);
      if (port === null) return resolve(false);
      const req = http.get({ host, port, path: probe.httpGet.path ?? '/', agent: false, timeout: timeoutMs }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      return;
    }
    const port = resolvePort(probe.tcpSocket?.port);
    if (port === null) return resolve(false);
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
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

  constructor(
    private readonly probe: Probe,
    private readonly host: string,
    private readonly resolvePort: (p: number | string | undefined) => number | null,
    private readonly clock: Clock,
    initiallyPassing: boolean,
    private readonly onChange: (passing: boolean) => void,
    /** Every result, changed or not (a startup probe counts them). */
    private readonly onResult?: (ok: boolean) => void,
  ) {
    this.state = new ProbeState(probe.successThreshold ?? 1, probe.failureThreshold ?? 3, initiallyPassing);
    this.timer = clock.setTimeout(() => void this.tick(), (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const ok = await probeOnce(this.probe, this.host, this.resolvePort);
    if (this.stopped) return;
    this.onResult?.(ok);
    if (this.stopped) return;
    if (this.state.record(ok)) this.onChange(this.state.passing);
    // A short first period while not passing, so readiness shows quickly at start-up.
    const periodMs = (this.probe.periodSeconds ?? 10) * 1000;
    this.timer = this.clock.setTimeout(() => void this.tick(), this.state.passing ? periodMs : Math.min(periodMs, 500));
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }
}
