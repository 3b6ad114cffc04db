// The shape of the pod the injector reads, checked before it reads it: a wrong type is named by its path.
//
// The injector trusts the `Pod` type; a review can carry anything. Each field it reads or patches
// is checked here (absent is fine, null is not: the API server omits empty fields), so a bad review
// is a 400 naming e.g. `request.object.spec.containers[0]` instead of a TypeError or a patch that
// does not apply.

type Json = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class ShapeError extends Error {}

function fail(path: string, expected: string, v: unknown): never {
  throw new ShapeError(`${path}: expected ${expected}, got ${describe(v)}`);
}

function object(v: unknown, path: string): Json | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(path, 'an object', v);
  return v;
}

function array(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

function string(v: unknown, path: string): void {
  if (v !== undefined && typeof v !== 'string') fail(path, 'a string', v);
}

function number(v: unknown, path: string): void {
  if (v !== undefined && typeof v !== 'number') fail(path, 'a number', v);
}

function stringMap(v: unknown, path: string): void {
  const m = object(v, path);
  if (m === undefined) return;
  for (const k of Object.keys(m)) if (typeof m[k] !== 'string') fail(`${path}["${k}"]`, 'a string', m[k]);
}

function port(v: unknown, path: string): void {
  if (v !== undefined && typeof v !== 'number' && typeof v !== 'string') fail(path, 'a port number or name', v);
}

const TIMING = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'];

function probe(v: unknown, path: string): void {
  const p = object(v, path);
  if (p === undefined) return;
  for (const k of TIMING) number(p[k], `${path}.${k}`);
  const get = object(p.httpGet, `${path}.httpGet`);
  if (get !== undefined) {
    port(get.port, `${path}.httpGet.port`);
    for (const k of ['path', 'host', 'scheme']) string(get[k], `${path}.httpGet.${k}`);
    const headers = array(get.httpHeaders, `${path}.httpGet.httpHeaders`) ?? [];
    headers.forEach((h, i) => {
      const at = `${path}.httpGet.httpHeaders[${i}]`;
      const o = object(h, at) ?? fail(at, 'an object', h);
      // Both are required by the API: a header without one cannot be probed.
      if (typeof o.name !== 'string') fail(`${at}.name`, 'a string', o.name);
      if (typeof o.value !== 'string') fail(`${at}.value`, 'a string', o.value);
    });
  }
  const tcp = object(p.tcpSocket, `${path}.tcpSocket`);
  if (tcp !== undefined) {
    port(tcp.port, `${path}.tcpSocket.port`);
    string(tcp.host, `${path}.tcpSocket.host`);
  }
  const grpc = object(p.grpc, `${path}.grpc`);
  if (grpc !== undefined) {
    number(grpc.port, `${path}.grpc.port`);
    string(grpc.service, `${path}.grpc.service`);
  }
  object(p.exec, `${path}.exec`);
}

function container(v: unknown, path: string): void {
  const c = object(v, path) ?? fail(path, 'an object', v);
  if (typeof c.name !== 'string' || c.name === '') fail(`${path}.name`, 'a container name', c.name);
  const ports = array(c.ports, `${path}.ports`) ?? [];
  ports.forEach((p, i) => {
    const at = `${path}.ports[${i}]`;
    const o = object(p, at) ?? fail(at, 'an object', p);
    string(o.name, `${at}.name`);
    number(o.containerPort, `${at}.containerPort`);
  });
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) probe(c[k], `${path}.${k}`);
}

/** What is wrong with the shape of `pod` (found at `path`), or null when the injector can read it. */
export function podShapeError(pod: Json, path: string): string | null {
  try {
    const meta = object(pod.metadata, `${path}.metadata`);
    if (meta !== undefined) {
      for (const k of ['name', 'generateName', 'namespace']) string(meta[k], `${path}.metadata.${k}`);
      stringMap(meta.labels, `${path}.metadata.labels`);
      stringMap(meta.annotations, `${path}.metadata.annotations`);
    }
    const spec = object(pod.spec, `${path}.spec`);
    if (spec === undefined) return null;
    if (spec.hostNetwork !== undefined && typeof spec.hostNetwork !== 'boolean') fail(`${path}.spec.hostNetwork`, 'true or false', spec.hostNetwork);
    for (const key of ['containers', 'initContainers']) {
      (array(spec[key], `${path}.spec.${key}`) ?? []).forEach((c, i) => container(c, `${path}.spec.${key}[${i}]`));
    }
    (array(spec.volumes, `${path}.spec.volumes`) ?? []).forEach((v, i) => object(v, `${path}.spec.volumes[${i}]`) ?? fail(`${path}.spec.volumes[${i}]`, 'an object', v));
    return null;
  } catch (err) {
    if (err instanceof ShapeError) return err.message;
    throw err;
  }
}
