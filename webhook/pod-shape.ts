// The parts of a Pod the injector reads, checked for their Kubernetes types before it reads them.
//
// The API server sends typed objects, but not yet validated ones (mutating webhooks run first), and
// `ferry inject` reads files: a container without a name, or a field of the wrong type, must be a
// clear answer naming the field, never a TypeError or a patch that does not apply.

type Json = Record<string, unknown>;

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const PROBE_NUMBERS = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'] as const;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

class ShapeError extends Error {}

function fail(path: string, expected: string, v: unknown): never {
  throw new ShapeError(`${path}: expected ${expected}, got ${describe(v)}`);
}

function optional(v: unknown, path: string, check: (v: unknown, path: string) => void): void {
  if (v !== undefined) check(v, path);
}

function object(v: unknown, path: string): Json {
  if (!isObject(v)) fail(path, 'an object', v);
  return v;
}

function string(v: unknown, path: string): void {
  if (typeof v !== 'string') fail(path, 'a string', v);
}

function number(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a number', v);
}

function list(v: unknown, path: string, item: (v: unknown, path: string) => void): void {
  if (!Array.isArray(v)) fail(path, 'a list', v);
  v.forEach((x, i) => item(x, `${path}[${i}]`));
}

function stringMap(v: unknown, path: string): void {
  for (const [k, x] of Object.entries(object(v, path))) string(x, `${path}.${k}`);
}

function port(v: unknown, path: string): void {
  if (typeof v !== 'string' && (typeof v !== 'number' || !Number.isFinite(v))) fail(path, 'a port number or name', v);
}

function probe(v: unknown, path: string): void {
  const p = object(v, path);
  for (const k of PROBE_NUMBERS) optional(p[k], `${path}.${k}`, number);
  optional(p.httpGet, `${path}.httpGet`, (g, gp) => {
    const get = object(g, gp);
    optional(get.path, `${gp}.path`, string);
    optional(get.port, `${gp}.port`, port);
    optional(get.host, `${gp}.host`, string);
    optional(get.scheme, `${gp}.scheme`, string);
    optional(get.httpHeaders, `${gp}.httpHeaders`, (h, hp) =>
      list(h, hp, (x, xp) => {
        const header = object(x, xp);
        string(header.name, `${xp}.name`);
        string(header.value, `${xp}.value`);
      }),
    );
  });
  optional(p.tcpSocket, `${path}.tcpSocket`, (t, tp) => {
    const tcp = object(t, tp);
    optional(tcp.port, `${tp}.port`, port);
    optional(tcp.host, `${tp}.host`, string);
  });
  optional(p.grpc, `${path}.grpc`, (g, gp) => {
    const grpc = object(g, gp);
    optional(grpc.port, `${gp}.port`, number);
    optional(grpc.service, `${gp}.service`, string);
  });
  optional(p.exec, `${path}.exec`, object);
}

function container(v: unknown, path: string): void {
  const c = object(v, path);
  if (typeof c.name !== 'string' || c.name === '') fail(`${path}.name`, 'a non-empty string', c.name);
  optional(c.ports, `${path}.ports`, (ps, pp) =>
    list(ps, pp, (x, xp) => {
      const p = object(x, xp);
      optional(p.name, `${xp}.name`, string);
      optional(p.containerPort, `${xp}.containerPort`, number);
    }),
  );
  for (const k of PROBES) optional(c[k], `${path}.${k}`, probe);
}

/** The first field of `pod` (at `path`) the injector cannot read, as a message naming it; null when none. */
export function podShapeProblem(pod: unknown, path: string): string | null {
  try {
    const p = object(pod, path);
    optional(p.metadata, `${path}.metadata`, (m, mp) => {
      const meta = object(m, mp);
      for (const k of ['name', 'generateName', 'namespace']) optional(meta[k], `${mp}.${k}`, string);
      optional(meta.labels, `${mp}.labels`, stringMap);
      optional(meta.annotations, `${mp}.annotations`, stringMap);
    });
    optional(p.spec, `${path}.spec`, (s, sp) => {
      const spec = object(s, sp);
      optional(spec.containers, `${sp}.containers`, (cs, cp) => list(cs, cp, container));
      optional(spec.initContainers, `${sp}.initContainers`, (cs, cp) => list(cs, cp, container));
      optional(spec.volumes, `${sp}.volumes`, (vs, vp) => list(vs, vp, object));
      optional(spec.hostNetwork, `${sp}.hostNetwork`, (h, hp) => {
        if (typeof h !== 'boolean') fail(hp, 'true or false', h);
      });
    });
    return null;
  } catch (err) {
    if (err instanceof ShapeError) return err.message;
    throw err;
  }
}
