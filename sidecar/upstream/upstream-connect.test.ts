// The upstream TLS options: one secure context per cluster TLS config and certificate, rebuilt on rotation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueWorkload, makeTestPki } from '../../certs/test-pki.fixture';
import type { UpstreamTlsConfig } from '../../src/config/types';
import { StaticIdentity, type WorkloadCertificate } from '../tls/workload-identity';
import { tlsConnectOptions } from './upstream-connect';

const TLS: UpstreamTlsConfig = {
  sni: 'outbound_.80_._.s.n.svc.cluster.local',
  alpnProtocols: ['h2'],
  ca: null,
  certChain: null,
  privateKey: null,
  workloadCertificate: true,
  workloadTrustBundle: true,
  matchSubjectAltNames: [],
  minVersion: null,
  maxVersion: null,
};

test('tlsConnectOptions: connections share the secure context until the certificate rotates; another cluster gets its own', async () => {
  const pki = await makeTestPki();
  const cert = async (): Promise<WorkloadCertificate> => {
    const w = await issueWorkload(pki.issuer, 'spiffe://cluster.local/ns/n/sa/a');
    return { keyPem: w.keyPem, certChainPem: w.chainPem, trustBundlePem: w.trustBundlePem, spiffeId: 'spiffe://cluster.local/ns/n/sa/a', notAfter: new Date(w.notAfter) };
  };
  const id = new StaticIdentity(await cert());
  const ep = { host: '10.0.0.1', port: 80 };
  const first = tlsConnectOptions(TLS, ep, id).secureContext;
  assert.ok(first);
  assert.equal(tlsConnectOptions(TLS, { host: '10.0.0.2', port: 80 }, id).secureContext, first, 'the same context for every endpoint of the cluster');
  assert.notEqual(tlsConnectOptions({ ...TLS, sni: 'other' }, ep, id).secureContext, first, 'another cluster config, another context');
  id.set(await cert());
  const rotated = tlsConnectOptions(TLS, ep, id).secureContext;
  assert.notEqual(rotated, first, 'a rotated certificate gets a new context');
  assert.equal(tlsConnectOptions(TLS, ep, id).secureContext, rotated);
});
