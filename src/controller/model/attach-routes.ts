// Attaches HTTPRoute rules to their parent Service ports and orders them by Gateway API precedence.

import type { HttpRouteMatch, HttpRouteObject, MeshHttpRoute, ServiceObject } from './types';

interface Ranked {
  route: MeshHttpRoute;
  createdMs: number;
  matchIndex: number;
}

/** Exact paths first, then the longest prefix/regex, method, most headers, most query params, oldest route. */
function compare(a: Ranked, b: Ranked): number {
  const ma = a.route.match;
  const mb = b.route.match;
  const exact = (m: HttpRouteMatch) => (m.path?.type === 'Exact' ? 0 : 1);
  const len = (m: HttpRouteMatch) => m.path?.value.length ?? 0;
  return (
    exact(ma) - exact(mb) ||
    len(mb) - len(ma) ||
    (mb.method ? 1 : 0) - (ma.method ? 1 : 0) ||
    mb.headers.length - ma.headers.length ||
    mb.queryParams.length - ma.queryParams.length ||
    a.createdMs - b.createdMs ||
    (a.route.source < b.route.source ? -1 : a.route.source > b.route.source ? 1 : 0) ||
    a.route.rule - b.route.rule ||
    a.matchIndex - b.matchIndex
  );
}

/**
 * For each service `ns/name`, port → ordered routes. Parents or backends naming unknown services
 * or ports become warnings; a rule whose backends are all unknown keeps no backends (answered 500).
 */
export function attachRoutes(
  routes: readonly HttpRouteObject[],
  services: ReadonlyMap<string, ServiceObject>,
  hostname: (ns: string, name: string) => string,
  warnings: string[],
): Map<string, Map<number, MeshHttpRoute[]>> {
  const ranked = new Map<string, Map<number, Ranked[]>>();
  for (const hr of routes) {
    const source = `${hr.namespace}/${hr.name}`;
    for (const parent of hr.parentRefs) {
      const key = `${parent.namespace}/${parent.name}`;
      const svc = services.get(key);
      if (!svc) {
        warnings.push(`HTTPRoute ${source}: parent Service ${key} not found`);
        continue;
      }
      const ports = svc.ports.filter((p) => (parent.port === null ? p.protocol !== 'tcp' : p.port === parent.port));
      if (ports.length === 0) {
        warnings.push(`HTTPRoute ${source}: Service ${key} has no ${parent.port === null ? 'HTTP' : ''} port ${parent.port ?? ''}`.replace(/\s+/g, ' ').trim());
        continue;
      }
      for (const p of ports) {
        let byPort = ranked.get(key);
        if (!byPort) ranked.set(key, (byPort = new Map()));
        let list = byPort.get(p.port);
        if (!list) byPort.set(p.port, (list = []));
        hr.rules.forEach((rule, ri) => {
          let dropped = 0;
          const backends: MeshHttpRoute['backends'][number][] = [];
          for (const b of rule.backendRefs) {
            const bkey = `${b.namespace}/${b.name}`;
            const bsvc = services.get(bkey);
            const port = b.port ?? p.port;
            if (!bsvc || !bsvc.ports.some((x) => x.port === port)) {
              warnings.push(`HTTPRoute ${source}: rules[${ri}] backend ${bkey}:${port} not found`);
              dropped++;
              continue;
            }
            if (b.weight === 0) continue;
            backends.push({ service: { namespace: b.namespace, name: b.name }, port, hostname: hostname(b.namespace, b.name), weight: b.weight });
          }
          if (rule.backendRefs.length === 0) {
            // No backendRefs: the parent itself, as GAMMA specifies.
            backends.push({ service: { namespace: svc.namespace, name: svc.name }, port: p.port, hostname: hostname(svc.namespace, svc.name), weight: 1 });
          }
          rule.matches.forEach((match, mi) => {
            list!.push({
              route: {
                source,
                rule: ri,
                match,
                backends,
                droppedBackends: dropped,
                requestTimeoutMs: rule.requestTimeoutMs,
                backendRequestTimeoutMs: rule.backendRequestTimeoutMs,
              },
              createdMs: hr.createdMs,
              matchIndex: mi,
            });
          });
        });
      }
    }
  }
  const out = new Map<string, Map<number, MeshHttpRoute[]>>();
  for (const [key, byPort] of ranked) {
    const m = new Map<number, MeshHttpRoute[]>();
    for (const [port, list] of byPort) m.set(port, list.sort(compare).map((r) => r.route));
    out.set(key, m);
  }
  return out;
}
