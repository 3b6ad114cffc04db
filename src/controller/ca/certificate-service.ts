// The CA's gRPC handler: bearer token → identity → CSR checked against it → signed chain and trust bundle.

import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { CsrRejectedError, type CsrRejectReason } from '../../../certs/csr';
import { IssuerUnavailableError, type WorkloadIssuer } from '../../../certs/issuer';
import { Logger, rootLogger } from '../../observability/logger';
import type { ControllerMetrics } from '../../observability/controller-metrics';
import { AuthenticatorUnavailableError, bearerToken, type TokenAuthenticator } from './authenticator';
import { TokenError } from './bootstrap-token';
import type { CreateCertificateRequest, CreateCertificateResponse } from '../../ca-api/ca-proto';

export interface CertificateServiceOptions {
  readonly issuer: WorkloadIssuer;
  readonly authenticator: TokenAuthenticator;
  readonly metrics?: ControllerMetrics;
  readonly logger?: Logger;
}

/** CSR refusals that mean "you asked for something you may not have" rather than "your request is broken". */
const PERMISSION_REASONS: ReadonlySet<CsrRejectReason> = new Set(['identity_mismatch', 'extra_sans', 'ca_requested', 'missing_identity']);

/** Longest lifetime a request may name before it is refused as nonsense (the issuer caps sane values). */
const MAX_REQUESTED_TTL_SECONDS = 10 * 365 * 24 * 3600;

type Call = ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>;
type Callback = sendUnaryData<CreateCertificateResponse>;

/** The CertificateService implementation, to add next to ADS on the controller's gRPC server. */
export function certificateServiceImpl(opts: CertificateServiceOptions): UntypedServiceImplementation {
  const log = opts.logger ?? rootLogger.child('ca');
  const reject = (cb: Callback, code: status, reason: string, details: string): void => {
    opts.metrics?.caCsrRejected.inc({ reason });
    cb({ code, details, metadata: new Metadata() });
  };

  const createCertificate = (call: Call, cb: Callback): void => {
    // Set per call: the issuing CA may be replaced while the controller runs (a root rotation).
    opts.metrics?.caIssuerExpiry.set(opts.issuer.issuerNotAfter / 1000);
    const token = bearerToken(call.metadata.get('authorization'));
    const peer = call.getPeer();
    opts.authenticator.authenticate(token).then(
      async (caller) => {
        const { csr, ttlSeconds } = call.request;
        if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_REQUESTED_TTL_SECONDS) {
          return reject(cb, status.INVALID_ARGUMENT, 'bad_ttl', `ttl_seconds: ${ttlSeconds} is not between 0 and ${MAX_REQUESTED_TTL_SECONDS}`);
        }
        try {
          const issued = await opts.issuer.sign(csr, caller.spiffeId, ttlSeconds === 0 ? undefined : ttlSeconds * 1000);
          opts.metrics?.caCertificatesIssued.inc();
          if (log.enabled('debug')) log.debug('certificate issued', { spiffeId: issued.spiffeId, serial: issued.serialNumber, via: caller.via, peer });
          cb(null, { certChain: [...issued.certChainPem], trustBundle: issued.trustBundlePem });
        } catch (err) {
          if (err instanceof CsrRejectedError) {
            log.warn('CSR rejected', { reason: err.reason, spiffeId: caller.spiffeId, peer, error: err.message });
            const code = PERMISSION_REASONS.has(err.reason) ? status.PERMISSION_DENIED : status.INVALID_ARGUMENT;
            return reject(cb, code, err.reason, err.message);
          }
          const unavailable = err instanceof IssuerUnavailableError;
          log.error('signing failed', { spiffeId: caller.spiffeId, err });
          cb({ code: unavailable ? status.UNAVAILABLE : status.INTERNAL, details: unavailable ? (err as Error).message : 'signing failed' });
        }
      },
      (err: unknown) => {
        if (err instanceof TokenError) {
          log.warn('CA call not authenticated', { reason: err.reason, peer });
          return reject(cb, status.UNAUTHENTICATED, 'unauthenticated', err.message);
        }
        if (err instanceof AuthenticatorUnavailableError) {
          log.error('cannot authenticate CA call', { peer, err });
          return cb({ code: status.UNAVAILABLE, details: 'the token could not be checked; retry' });
        }
        log.error('CA authentication failed', { peer, err });
        cb({ code: status.INTERNAL, details: 'authentication failed' });
      },
    );
  };
  return { CreateCertificate: createCertificate as never };
}
