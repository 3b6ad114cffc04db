// Capture options for `ferry init`: parsed once from annotation-style strings into a frozen object.

import { ConfigError } from '../errors';
import {
  ANNOTATION_EXCLUDE_INBOUND_PORTS,
  ANNOTATION_EXCLUDE_OUTBOUND_CIDRS,
  ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_INCLUDE_INBOUND_PORTS,
  ANNOTATION_INCLUDE_OUTBOUND_CIDRS,
  PORT_INBOUND_CAPTURE,
  PORT_OUTBOUND_CAPTURE,
  PROXY_GID,
  PROXY_OWN_PORTS,
  PROXY_UID,
} from './constants';
import { type CidrText, parseCidrText } from '../net/cidr';

export interface CaptureOptions {
  readonly proxyUid: number;
  /** null: do not exempt a group. */
  readonly proxyGid: number | null;
  readonly outboundPort: number;
  readonly inboundPort: number;
  /** The proxy's own ports: never redirected inbound. */
  readonly proxyPorts: readonly number[];
  /** '*' = every inbound port; [] = no inbound capture. */
  readonly includeInboundPorts: '*' | readonly number[];
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly excludeOutboundCidrs: readonly CidrText[];
  /** '*' = every destination; [] = no outbound capture. */
  readonly includeOutboundCidrs: '*' | readonly CidrText[];
}

/** Raw inputs, keyed by annotation name (values as they appear in the pod's annotations). */
export type RawCaptureOptions = Readonly<Record<string, string | undefined>>;

/** Numeric knobs that are not annotations (flags of `ferry init`). */
export interface CaptureTuning {
  readonly proxyUid?: number;
  readonly proxyGid?: number | null;
  readonly outboundPort?: number;
  readonly inboundPort?: number;
}

/** Every annotation `ferry init` understands; anything else under `ferry.io/` is not its business. */
export const CAPTURE_ANNOTATIONS = Object.freeze([
  ANNOTATION_EXCLUDE_INBOUND_PORTS,
  ANNOTATION_INCLUDE_INBOUND_PORTS,
  ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_EXCLUDE_OUTBOUND_CIDRS,
  ANNOTATION_INCLUDE_OUTBOUND_CIDRS,
]);

/** Parses and validates; a bad value throws ConfigError naming the annotation. */
export function parseCaptureOptions(raw: RawCaptureOptions, tuning: CaptureTuning = {}): CaptureOptions {
  const uid = tuning.proxyUid ?? PROXY_UID;
  const gid = tuning.proxyGid === undefined ? PROXY_GID : tuning.proxyGid;
  checkId('proxyUid', uid);
  if (gid !== null) checkId('proxyGid', gid);
  const outboundPort = tuning.outboundPort ?? PORT_OUTBOUND_CAPTURE;
  const inboundPort = tuning.inboundPort ?? PORT_INBOUND_CAPTURE;
  checkPort('outboundPort', outboundPort);
  checkPort('inboundPort', inboundPort);
  const proxyPorts = unique([...PROXY_OWN_PORTS, outboundPort, inboundPort]);
  const includeIn = raw[ANNOTATION_INCLUDE_INBOUND_PORTS];
  const includeOut = raw[ANNOTATION_INCLUDE_OUTBOUND_CIDRS];
  return Object.freeze({
    proxyUid: uid,
    proxyGid: gid,
    outboundPort,
    inboundPort,
    proxyPorts: Object.freeze(proxyPorts),
    includeInboundPorts:
      includeIn === undefined || includeIn.trim() === '*'
        ? '*'
        : Object.freeze(parsePorts(ANNOTATION_INCLUDE_INBOUND_PORTS, includeIn)),
    excludeInboundPorts: Object.freeze(parsePorts(ANNOTATION_EXCLUDE_INBOUND_PORTS, raw[ANNOTATION_EXCLUDE_INBOUND_PORTS])),
    excludeOutboundPorts: Object.freeze(parsePorts(ANNOTATION_EXCLUDE_OUTBOUND_PORTS, raw[ANNOTATION_EXCLUDE_OUTBOUND_PORTS])),
    excludeOutboundCidrs: Object.freeze(parseCidrs(ANNOTATION_EXCLUDE_OUTBOUND_CIDRS, raw[ANNOTATION_EXCLUDE_OUTBOUND_CIDRS])),
    includeOutboundCidrs:
      includeOut === undefined || includeOut.trim() === '*'
        ? '*'
        : Object.freeze(parseCidrs(ANNOTATION_INCLUDE_OUTBOUND_CIDRS, includeOut)),
  });
}

function items(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A comma-separated list of ports 1–65535; duplicates dropped, order kept. */
export function parsePorts(name: string, value: string | undefined): number[] {
  const out: number[] = [];
  for (const item of items(value)) {
    if (!/^\d{1,5}$/.test(item) || Number(item) < 1 || Number(item) > 65535) {
      throw new ConfigError(name, `"${item}" is not a port (1-65535); expected a comma-separated list like "8081,9000"`);
    }
    out.push(Number(item));
  }
  return unique(out);
}

function parseCidrs(name: string, value: string | undefined): CidrText[] {
  const out: CidrText[] = [];
  for (const item of items(value)) {
    if (item === '*') throw new ConfigError(name, '"*" must be the whole value, not one item of a list');
    const cidr = parseCidrText(item);
    if (!cidr) {
      throw new ConfigError(name, `"${item}" is not a CIDR; expected e.g. "10.0.0.0/8,fd00::/8"`);
    }
    if (!out.some((c) => c.text === cidr.text)) out.push(cidr);
  }
  return out;
}

function checkId(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw new ConfigError(name, `${v} is not a valid id`);
}

function checkPort(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new ConfigError(name, `${v} is not a port (1-65535)`);
}

function unique(ports: number[]): number[] {
  return [...new Set(ports)];
}
