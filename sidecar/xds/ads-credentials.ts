// gRPC channel credentials for the ADS stream, from the ADS cluster's upstream TLS settings.

import * as grpc from '@grpc/grpc-js';
import type { UpstreamTlsConfig } from '../../src/config/types';
import { verifyPeerSubjectAltNames } from '../tls/san-verify';

export function adsCredentials(t: UpstreamTlsConfig | null): grpc.ChannelCredentials {
  if (t === null) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(t.ca, t.privateKey, t.certChain, {
    checkServerIdentity: (_host, cert) => verifyPeerSubjectAltNames(cert, t.matchSubjectAltNames),
  });
}
