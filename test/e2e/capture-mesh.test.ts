// End to end in network namespaces: `ferry init` capture rules, two Ferry sidecars configured by `ferry controller`, unchanged apps, over mTLS.
//
// A node namespace holds a bridge (10.200.0.1) and the controller; a client pod and a server pod hang
// off the bridge by veth. Each pod gets `ferry init` (iptables) and `ferry proxy` in pod mode, as UID
// 1337, from the FERRY_* env an injector would set. Service VIPs (10.200.255.0/24) exist only in the
// controller's registry: nothing but the client's sidecar can reach them. The apps know nothing of
// the mesh: the client dials the VIP with a plain HTTP/TCP client, the server listens on its ports.
//
// The main run is the mesh as it ships: the controller holds the CA (--ca-dir) and makes every port
// STRICT, each sidecar gets its SPIFFE certificate with a bootstrap token, and sidecars speak mTLS.
// The same steps also run once with --insecure-xds and no identities (plaintext between sidecars).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { addonPath } from '../../sidecar/native/original-dst';
import { netnsSkipReason } from '../../sidecar/init/netns.fixture';
import { FERRY, NetnsLab, sleep, sumMetric, waitFor } from './netns-lab';
import { createMeshCa, podIdentityFiles } from './pod-identity';
import { CLIENT_APP, FETCH, SERVER_APP } from './pod-programs';

const BRIDGE_IP = '10.200.0.1';
const CLIENT_IP = '10.200.0.10';
const SERVER_IP = '10.200.0.20';
const XDS_PORT = 15012;
const PROXY_UID = 1337;
const NS = 'demo';
const CLIENT_ID = `spiffe://cluster.local/ns/${NS}/sa/client`;
const VIP = { web: '10.200.255.10', echo: '10.200.255.11', db: '10.200.255.12' };
/** The server app's ports: `extra` is one that no Service declares and no rule excludes (a debug port, say). */
const PORT = { http: 8080, echo: 9000, greet: 3306, direct: 7070, extra: 6060 };
const NODE = process.execPath;

type Security = 'mtls' | 'plaintext';

function service(name: string, clusterIP: string, port: { name: string; port: number; targetPort: number; appProtocol?: string }): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { clusterIP, selector: { app: 'server' }, ports: [port] } };
}

function slice(svc: string, portName: string, port: number): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-e2e`, namespace: NS, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: portName, port, protocol: 'TCP' }],
    endpoints: [{ addresses: [SERVER_IP], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name: 'server-0' } }],
  };
}

/** A pod whose service account is its app's name (so the server's SPIFFE ID is …/sa/server). */
function pod(name: string, app: string, ip: string): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app } }, spec: { serviceAccountName: app }, status: { podIP: ip } };
}

/** The registry the controller watches: an HTTP service, an opaque TCP one, a server-first one (MySQL's port). */
function registryObjects(): object {
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'ferry.io/inject': 'enabled' } } },
      pod('client-0', 'client', CLIENT_IP),
      pod('server-0', 'server', SERVER_IP),
      service('web', VIP.web, { name: 'http', port: 80, targetPort: PORT.http }),
      service('echo', VIP.echo, { name: 'tcp-echo', port: PORT.echo, targetPort: PORT.echo }),
      service('db', VIP.db, { name: 'mysql', port: PORT.greet, targetPort: PORT.greet, appProtocol: 'mysql' }),
      slice('web', 'http', PORT.http),
      slice('echo', 'tcp-echo', PORT.echo),
      slice('db', 'mysql', PORT.greet),
    ],
  };
}

/** Why this machine cannot run the test (printed and skipped), or null; in CI a missing addon fails instead. */
function skipReason(): string | null {
  const skip = netnsSkipReason(['iptables', 'iptables-save', 'setpriv']);
  if (skip) return skip;
  if (existsSync(addonPath())) return null;
  const why = `the SO_ORIGINAL_DST addon is not built at ${addonPath()} (run make build)`;
  if (process.env.CI) assert.fail(why);
  return why;
}

function captureMesh(security: Security) {
  return async (t: TestContext): Promise<void> => {
    const skip = skipReason();
    if (skip) {
      process.stdout.write(`capture-mesh e2e skipped: ${skip}\n`);
      return t.skip(skip);
    }
    const mtls = security === 'mtls';

    const lab = new NetnsLab(BRIDGE_IP, 24);
    t.after(() => lab.cleanup());
    // Before anything starts: the sidecars (UID 1337) must reach Node and the repository, wherever it was cloned.
    lab.prepareRunAs(PROXY_UID);
    const dir = lab.sharedDir('ferry-e2e-', PROXY_UID); // 0711: the sidecars reach their own files under pods/, nothing else
    const registry = join(dir, 'registry');
    mkdirSync(registry);
    let clientNs = '';
    let serverNs = '';
    /** Runs a step; on failure its error carries the nat rules and every process's output. */
    const step = async <T>(what: string, fn: () => Promise<T> | T): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}\n${lab.diagnostics([clientNs, serverNs].filter(Boolean))}`, { cause: err });
      }
    };

    // --- the network: node namespace with the bridge, two pods ------------------------------------
    await step('namespaces, bridge and veths', () => {
      lab.createNode();
      clientNs = lab.createPod({ role: 'client', ip: CLIENT_IP });
      serverNs = lab.createPod({ role: 'server', ip: SERVER_IP });
    });

    // --- control plane: the registry, and with mTLS the CA and every port STRICT ------------------
    writeFileSync(join(registry, 'mesh.json'), JSON.stringify(registryObjects(), null, 1));
    const ca = mtls ? await step('mesh CA (ferry certs)', () => createMeshCa(dir)) : null;
    const securityFlags = ca ? ['--ca-dir', ca.caDir, '--token-key', ca.tokenKey, '--mtls-mode', 'STRICT'] : ['--insecure-xds'];
    const controller = lab.spawn('controller', lab.node, [
      NODE, FERRY, 'controller',
      '--registry', `file:${registry}`,
      ...securityFlags,
      '--xds-address', `${BRIDGE_IP}:${XDS_PORT}`,
      '--admin-address', '127.0.0.1:15014',
      '--service-cidr', '10.200.255.0/24',
    ]);
    await step('controller start', () => controller.waitForLine(/xDS on \d+/));

    // --- pods: capture rules, app, sidecar --------------------------------------------------------
    // The client takes its exclusion as the webhook passes it (a downward-API annotations file), the server as a flag.
    const annotations = join(dir, 'client-annotations');
    writeFileSync(annotations, `ferry.io/exclude-outbound-ports="${PORT.direct}"\nferry.io/inject="enabled"\n`);
    await step('ferry init (client)', () => lab.exec(clientNs, NODE, [FERRY, 'init', '--annotations-file', annotations]));
    await step('ferry init (server)', () => lab.exec(serverNs, NODE, [FERRY, 'init', '--exclude-inbound-ports', String(PORT.direct)]));

    const app = lab.spawn('server app', serverNs, [NODE, '-e', SERVER_APP, `http=${PORT.http}`, `echo=${PORT.echo}`, `greet=${PORT.greet}`, `direct=${PORT.direct}`, `extra=${PORT.extra}`]);
    await step('server app start', () => app.waitForLine(/^ready$/m));

    const sidecar = async (role: string, ns: string, ip: string) => {
      // The mesh root and the pod's token, as the injector mounts them; the service account is the role.
      const identity = ca ? await step(`identity files (${role})`, () => podIdentityFiles(dir, ca, role, NS, role, PROXY_UID)) : null;
      return lab.spawn(`${role} sidecar`, ns, [NODE, FERRY, 'proxy', '--drain-time-s', '0'], {
        uid: PROXY_UID,
        env: {
          HOME: '/tmp',
          FERRY_POD_NAME: `${role}-0`,
          FERRY_POD_NAMESPACE: NS,
          FERRY_POD_IP: ip,
          FERRY_SERVICE_ACCOUNT: role,
          FERRY_POD_LABELS: `app=${role}`,
          FERRY_CONTROLLER_ADDRESS: `${BRIDGE_IP}:${XDS_PORT}`,
          ...(identity ? { FERRY_CA_ROOT_FILE: identity.rootFile, FERRY_TOKEN_FILE: identity.tokenFile } : {}),
        },
      });
    };
    const clientSidecar = await sidecar('client', clientNs, CLIENT_IP);
    const serverSidecar = await sidecar('server', serverNs, SERVER_IP);
    await step('sidecars LIVE', () => Promise.all([clientSidecar.waitForLine(/ferry proxy: LIVE/), serverSidecar.waitForLine(/ferry proxy: LIVE/)]));

    // The node reaches each sidecar's health port on the pod IP (the kubelet's view): 15020 is never
    // captured. Ready means configured and, with mTLS, holding a certificate.
    for (const ip of [CLIENT_IP, SERVER_IP]) {
      await step(`readiness of ${ip} from the node`, () =>
        waitFor(`GET ${ip}:15020/healthz/ready to answer 200`, async () => {
          const r = await lab.run(lab.node, [NODE, '-e', FETCH, ip, '15020', '/healthz/ready']);
          return r.stdout.split('\n')[0] === '200';
        }),
      );
    }

    // --- helpers for the assertions ---------------------------------------------------------------
    /** CLIENT_APP in `ns`: the client pod's app, or a process in the node namespace (no sidecar there). */
    const callFrom = async (ns: string, ...args: string[]): Promise<Record<string, unknown>> => {
      const r = await lab.run(ns, [NODE, '-e', CLIENT_APP, ...args], 20_000);
      try {
        return JSON.parse(r.stdout) as Record<string, unknown>;
      } catch {
        throw new Error(`client ${args.join(' ')} in ${ns}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      }
    };
    const call = (...args: string[]) => callFrom(clientNs, ...args);
    const metrics = async (ns: string): Promise<string> => {
      const r = await lab.run(ns, [NODE, '-e', FETCH, '127.0.0.1', '15000', '/stats/prometheus']);
      if (!r.stdout.startsWith('200\n')) throw new Error(`metrics in ${ns}: ${r.stdout.slice(0, 200)}${r.stderr}`);
      return r.stdout;
    };
    const counters = async (): Promise<{ client: string; server: string }> => ({ client: await metrics(clientNs), server: await metrics(serverNs) });
    const total = (text: string): number => sumMetric(text, 'ferry_requests_total') + sumMetric(text, 'ferry_tcp_connections_opened_total');
    /** Waits until `metric{labels}` in `ns` has grown by at least 1 over `before`. */
    const grew = (ns: string, before: string, metric: string, labels: Record<string, string>) =>
      waitFor(`${metric}${JSON.stringify(labels)} to grow in ${ns}`, async () => {
        const now = await metrics(ns);
        return sumMetric(now, metric, labels) >= sumMetric(before, metric, labels) + 1 ? now : null;
      }, 5_000, 100).catch(async (err: Error) => {
        const now = await metrics(ns).catch((e: Error) => e.message);
        const lines = now.split('\n').filter((l) => l.startsWith(metric)).join('\n');
        throw new Error(`${err.message}\n--- ${metric} in ${ns} ---\n${lines}`);
      });
    /** How the server sidecar saw the client: its verified SPIFFE ID under mTLS, no identity in plaintext. */
    const peer: Record<string, string> = mtls ? { connection_security_policy: 'mutual_tls', source_principal: CLIENT_ID } : { connection_security_policy: 'none' };
    /** How many connections the server app has accepted on `port` so far. */
    const accepts = (port: number): number => app.log().split('\n').filter((l) => l.startsWith(`accept ${port} `)).length;

    await t.test(`HTTP: the client calls the web VIP, both sidecars report it (${mtls ? 'mutual_tls, client identity' : 'plaintext'}), the app sees 127.0.0.6`, async () => {
      const before = await counters();
      const r = await call('http', VIP.web, '80', '/hello');
      await step('HTTP through the VIP', async () => {
        assert.equal(r.status, 200, `client got ${JSON.stringify(r)}`);
        const body = JSON.parse(String(r.body)) as Record<string, unknown>;
        assert.equal(body.path, '/hello');
        assert.equal(body.port, PORT.http);
        // The server sidecar's hop to the app comes from the inbound passthrough source.
        assert.equal(body.remote, '127.0.0.6', `the app saw ${String(body.remote)}`);
        await grew(clientNs, before.client, 'ferry_requests_total', { reporter: 'source', response_code: '200', destination_cluster: 'outbound|80||web.demo.svc.cluster.local' });
        await grew(serverNs, before.server, 'ferry_requests_total', { reporter: 'destination', response_code: '200', destination_cluster: `inbound|${PORT.http}||`, ...peer });
      });
    });

    await t.test('opaque TCP: bytes echo through both sidecars', async () => {
      const before = await counters();
      const payload = `echo-${lab.id}-${'x'.repeat(2000)}`;
      const r = await call('echo', VIP.echo, String(PORT.echo), payload);
      await step('TCP through the VIP', async () => {
        assert.equal(r.got, payload, `client got ${JSON.stringify(r).slice(0, 300)}`);
        await grew(clientNs, before.client, 'ferry_tcp_connections_opened_total', { reporter: 'source', destination_cluster: `outbound|${PORT.echo}||echo.demo.svc.cluster.local` });
        await grew(serverNs, before.server, 'ferry_tcp_connections_opened_total', { reporter: 'destination', destination_cluster: `inbound|${PORT.echo}||`, ...peer });
        assert.match(app.log(), new RegExp(`^accept ${PORT.echo} 127\\.0\\.0\\.6$`, 'm'), 'the echo app saw the sidecar (127.0.0.6)');
      });
    });

    await t.test('server-first protocol: the greeting arrives though the client sends nothing', async () => {
      const before = await counters();
      // GREET_WAIT (ms, default 4000) lets a debugging run wait out the detection time-out to see what follows.
      const r = await call('greet', VIP.db, String(PORT.greet), process.env.GREET_WAIT ?? '4000');
      await step('server-first through the VIP (the MySQL port must skip protocol detection on both sidecars)', async () => {
        const detection = async (ns: string) => sumMetric(await metrics(ns), 'ferry_protocol_detection_timeouts_total');
        const timeouts = `protocol detection time-outs so far: client ${await detection(clientNs)}, server ${await detection(serverNs)}`;
        assert.equal(r.got, 'HELLO 127.0.0.6\n', `client got ${JSON.stringify(r)}; ${timeouts}`);
        // A detection time-out would take the listener's filter timeout (seconds); a skipped detection is immediate.
        assert.ok(Number(r.ms) < 2_000, `greeting took ${String(r.ms)} ms`);
        await grew(serverNs, before.server, 'ferry_tcp_connections_opened_total', { reporter: 'destination', destination_cluster: `inbound|${PORT.greet}||`, ...peer });
      });
    });

    if (mtls) {
      await t.test('STRICT: plaintext from the node (no sidecar) to the server pod is captured and refused; the app never sees it', async () => {
        // Control: the node reaches the server app itself on the port the server excludes from capture.
        const direct = await callFrom(lab.node, 'http', SERVER_IP, String(PORT.direct), '/from-node');
        await step('node → excluded inbound port', () => {
          assert.equal(direct.status, 200, `node got ${JSON.stringify(direct)}`);
          assert.equal((JSON.parse(String(direct.body)) as { remote: string }).remote, BRIDGE_IP);
        });
        const seen = { http: accepts(PORT.http), echo: accepts(PORT.echo) };
        const h = await callFrom(lab.node, 'http', SERVER_IP, String(PORT.http), '/plaintext');
        const e = await callFrom(lab.node, 'echo', SERVER_IP, String(PORT.echo), 'plaintext');
        await step('node → captured ports in plaintext', async () => {
          assert.equal(h.status, undefined, `plaintext HTTP from the node got ${JSON.stringify(h)}`);
          assert.ok(h.error, `no error for plaintext HTTP: ${JSON.stringify(h)}`);
          assert.notEqual(e.got, 'plaintext', `plaintext TCP from the node was echoed: ${JSON.stringify(e)}`);
          await sleep(300);
          assert.deepEqual({ http: accepts(PORT.http), echo: accepts(PORT.echo) }, seen, 'the server app accepted a plaintext connection');
        });
      });
    }

    // A port no Service declares goes through InboundPassthroughCluster, from 127.0.0.6 (else it would be
    // captured into 15006 again and loop); under a mesh-wide STRICT mode it is mesh-only too.
    await t.test(`a port no Service declares: ${mtls ? 'STRICT refuses plaintext to it' : 'plaintext passes through to the app'}, with one upstream connection`, async () => {
      const before = await metrics(serverNs);
      const seen = accepts(PORT.extra);
      const r = await callFrom(lab.node, 'http', SERVER_IP, String(PORT.extra), '/undeclared');
      await step(`node → undeclared captured port ${PORT.extra}`, async () => {
        await sleep(300);
        const after = await metrics(serverNs);
        const passthrough = { destination_cluster: 'InboundPassthroughCluster' };
        const opened = sumMetric(after, 'ferry_tcp_connections_opened_total', passthrough) - sumMetric(before, 'ferry_tcp_connections_opened_total', passthrough);
        const overflow = sumMetric(after, 'ferry_upstream_rq_overflow_total', passthrough) - sumMetric(before, 'ferry_upstream_rq_overflow_total', passthrough);
        assert.ok(opened <= 1 && overflow === 0, `the server sidecar opened ${opened} passthrough connections (${overflow} overflows) for one call; the node got ${JSON.stringify(r)}`);
        if (mtls) {
          assert.equal(r.status, undefined, `plaintext HTTP from the node to ${PORT.extra} got ${JSON.stringify(r)}`);
          assert.equal(accepts(PORT.extra), seen, 'the server app accepted a plaintext connection');
        } else {
          assert.equal(r.status, 200, `the node got ${JSON.stringify(r)}`);
          assert.equal((JSON.parse(String(r.body)) as { remote: string }).remote, '127.0.0.6');
        }
      });
    });

    await t.test('excluded ports bypass both sidecars; a port that is not excluded does not', async () => {
      // Control: the server's pod IP on a captured port goes through the client's sidecar (passthrough) into the server's inbound chain.
      const control0 = await counters();
      const seen = accepts(PORT.http);
      const c = await call('http', SERVER_IP, String(PORT.http), '/control');
      await step('pod IP on a captured port', async () => {
        await grew(clientNs, control0.client, 'ferry_tcp_connections_opened_total', { reporter: 'source', destination_cluster: 'PassthroughCluster' });
        if (mtls) {
          // Only service VIPs are dialled with mTLS; a pod IP passes through in plaintext, which STRICT refuses.
          assert.equal(c.status, undefined, `plaintext passthrough to a STRICT port got ${JSON.stringify(c)}`);
          await sleep(300);
          assert.equal(accepts(PORT.http), seen, 'the server app accepted the plaintext passthrough');
        } else {
          assert.equal(c.status, 200, `client got ${JSON.stringify(c)}`);
          assert.equal((JSON.parse(String(c.body)) as { remote: string }).remote, '127.0.0.6');
          await grew(serverNs, control0.server, 'ferry_requests_total', { reporter: 'destination', destination_cluster: `inbound|${PORT.http}||` });
        }
      });

      const before = await counters();
      const r = await call('http', SERVER_IP, String(PORT.direct), '/direct');
      await step(`excluded port ${PORT.direct}`, async () => {
        assert.equal(r.status, 200, `client got ${JSON.stringify(r)}`);
        // Straight from the client pod: neither the client's sidecar (from its own pod IP) nor the server's (127.0.0.6) in between.
        assert.equal((JSON.parse(String(r.body)) as { remote: string }).remote, CLIENT_IP);
        // Give any late metric update a moment, then the sidecars must not have moved.
        await sleep(300);
        const after = await counters();
        assert.equal(total(after.client), total(before.client), 'the client sidecar counted the excluded call');
        assert.equal(total(after.server), total(before.server), 'the server sidecar counted the excluded call');
      });
    });
  };
}

test('capture mesh over mTLS (STRICT) in network namespaces: unchanged apps through two Ferry sidecars', { timeout: 60_000 }, captureMesh('mtls'));

test('capture mesh in plaintext (--insecure-xds): the same steps without identities', { timeout: 60_000 }, captureMesh('plaintext'));
