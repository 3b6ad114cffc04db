// Test and bench support: a real Controller with the mesh CA and mTLS on 127.0.0.1, a throw-away PKI, token keys, and an ADS probe.

import * as grpc from '@grpc/grpc-js';
import { makeTestPki, type TestPki } from '../../../certs/test-pki.fixture';
import type { WorkloadIssuerOptions } from '../../../certs/issuer';
import { Logger } from '../../observability/logger';
import { adsClient, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from '../../xds/ads-service';
import { CLUSTER_TYPE } from '../../xds/type-urls';
import { Controller, type ControllerPorts } from '../controller';
import type { MeshSource, Snapshot } from '../types';
import { CaAuthenticator, type TokenReviewer } from './authenticator';
import { mintBootstrapToken } from './bootstrap-token';
import { ServingIdentity } from './serving-identity';
import { systemClock } from '../../clock/clock';

export const TEST_TRUST_DOMAIN = 'cluster.local';
export const TEST_SYSTEM_NAMESPACE = 'ferry-system';
export const TEST_CONTROLLER_ID = `spiffe://${TEST_TRUST_DOMAIN}/ns/${TEST_SYSTEM_NAMESPACE}/sa/ferry-controller`;

class StaticSource implements MeshSource<object> {
  async start(onChange: (m: object) => void): Promise<void> {
    onChange({});
  }
  async stop(): Promise<void> {}
}

/** Every node gets an empty CDS, so an accepted ADS stream answers at once. */
const emptyCds = (): Snapshot => ({ [CLUSTER_TYPE]: new Map() });

export interface TestMesh {
  readonly pki: TestPki;
  readonly controller: Controller<object>;
  readonly ports: ControllerPorts;
  readonly tokenKey: Buffer;
  readonly serving: ServingIdentity;
  /** The mTLS port as host:port. */
  readonly address: string;
  token(namespace: string, serviceAccount: string, ttlMs?: number): string;
  stop(): Promise<void>;
}

export interface TestMeshOptions {
  readonly pki?: TestPki;
  readonly reviewer?: TokenReviewer | null;
  readonly issuer?: WorkloadIssuerOptions;
  readonly servingTtlMs?: number;
  /** Bind the mTLS port here (default 0: any). */
  readonly port?: number;
  readonly plaintext?: boolean;
}

export async function startTestMesh(opts: TestMeshOptions = {}): Promise<TestMesh> {
  const pki = opts.pki ?? (await makeTestPki({ issuer: { clock: systemClock, backdateMs: 0, ...opts.issuer } }));
  const tokenKey = Buffer.alloc(32, 0x5a);
  const serving = new ServingIdentity({
    issuer: pki.issuer,
    trustDomain: TEST_TRUST_DOMAIN,
    namespace: TEST_SYSTEM_NAMESPACE,
    ttlMs: opts.servingTtlMs,
    logger: new Logger('test', 'off'),
  });
  const controller = new Controller<object>({
    source: new StaticSource(),
    translate: emptyCds,
    xdsAddress: { host: '127.0.0.1', port: opts.port ?? 0 },
    plaintextXdsAddress: opts.plaintext ? { host: '127.0.0.1', port: 0 } : null,
    adminAddress: null,
    debounceMs: 0,
    logger: new Logger('test', 'off'),
    identity: {
      issuer: pki.issuer,
      authenticator: new CaAuthenticator({ trustDomain: TEST_TRUST_DOMAIN, bootstrapKeys: [tokenKey], reviewer: opts.reviewer ?? null }),
      serving,
    },
  });
  const ports = await controller.start();
  return {
    pki,
    controller,
    ports,
    tokenKey,
    serving,
    address: `127.0.0.1:${ports.xds}`,
    token: (namespace, serviceAccount, ttlMs = 3600_000) => mintBootstrapToken(tokenKey, { namespace, serviceAccount }, Date.now(), ttlMs),
    stop: () => controller.stop(),
  };
}

/** Opens an ADS stream, sends one CDS request, and reports the first response or the status the stream ended with. */
export async function probeAds(address: string, creds: grpc.ChannelCredentials, timeoutMs = 5000): Promise<{ response?: DiscoveryResponseMsg; code?: grpc.status; details?: string }> {
  const Client = adsClient();
  const client = new Client(address, creds);
  try {
    const call = (client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg> }).StreamAggregatedResources();
    return await new Promise((resolve) => {
      const t = setTimeout(() => {
        call.cancel();
        resolve({ code: grpc.status.DEADLINE_EXCEEDED, details: 'no answer' });
      }, timeoutMs);
      call.on('data', (r: DiscoveryResponseMsg) => {
        clearTimeout(t);
        call.cancel();
        resolve({ response: r });
      });
      call.on('error', (e: grpc.ServiceError) => {
        clearTimeout(t);
        resolve({ code: e.code, details: e.details });
      });
      call.write({ node: { id: 'probe~127.0.0.1~p.shop~shop.svc.cluster.local', userAgentName: 'ferry' }, typeUrl: CLUSTER_TYPE });
    });
  } finally {
    client.close();
  }
}
