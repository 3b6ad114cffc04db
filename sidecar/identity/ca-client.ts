// One CreateCertificate call to the controller's CA over TLS that verifies the controller's SPIFFE ID.

import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { systemClock, type Clock } from '../../src/clock/clock';
import { FerryError } from '../../src/errors';
import { certificateServiceClient, type CreateCertificateResponse } from '../../src/ca-api/ca-proto';

/** The CA refused or could not be reached; `grpcCode` says which (UNAUTHENTICATED/PERMISSION_DENIED are not worth a fast retry). */
export class CaRequestError extends FerryError {
  readonly grpcCode: grpc.status;
  constructor(grpcCode: grpc.status, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CA_REQUEST', `certificate request failed (${grpc.status[grpcCode] ?? grpcCode}): ${message}`, options);
    this.grpcCode = grpcCode;
  }
}

/** Error unless `cert` carries exactly one URI SAN and it is `expected` (the hostname is not used). */
export function verifyServerSpiffeId(cert: PeerCertificate, expected: string): Error | undefined {
  const uris = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  if (uris.length === 1 && uris[0] === expected) return undefined;
  const err = new Error(`server certificate identity [${uris.join(', ')}] is not ${expected}`);
  (err as NodeJS.ErrnoException).code = 'ERR_FERRY_SPIFFE_MISMATCH';
  return err;
}

export interface CaRequest {
  /** host:port of the controller's gRPC port (15012). */
  readonly address: string;
  /** Roots to verify the controller with (PEM). */
  readonly trustBundlePem: string;
  /** The controller's SPIFFE ID, e.g. spiffe://cluster.local/ns/ferry-system/sa/ferry-controller. */
  readonly serverSpiffeId: string;
  readonly token: string;
  readonly csrPem: string;
  /** 0: the CA's default. */
  readonly ttlSeconds: number;
  readonly timeoutMs: number;
  /** Sets the call's deadline (grpc-js deadlines are wall-clock); default systemClock. */
  readonly clock?: Clock;
}

/** TLS to the CA: the bundle's roots, no client certificate, the server must be `serverSpiffeId`. */
export function caChannelCredentials(trustBundlePem: string, serverSpiffeId: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(trustBundlePem), null, null, {
    checkServerIdentity: (_host, cert) => verifyServerSpiffeId(cert, serverSpiffeId),
  });
}

/**
 * Channel options for a channel whose server is checked by SPIFFE ID: a fixed TLS server name, so
 * Node does not send an IP address as SNI (RFC 6066 forbids it); the name itself is not verified.
 */
export const SPIFFE_CHANNEL_OPTIONS: grpc.ChannelOptions = Object.freeze({ 'grpc.ssl_target_name_override': 'ferry-controller' });

/** Sends one request on a fresh channel (renewals are hours apart) and closes it. */
export function requestCertificate(req: CaRequest): Promise<CreateCertificateResponse> {
  const Client = certificateServiceClient();
  const client = new Client(req.address, caChannelCredentials(req.trustBundlePem, req.serverSpiffeId), SPIFFE_CHANNEL_OPTIONS);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${req.token}`);
  return new Promise<CreateCertificateResponse>((resolve, reject) => {
    const method = (client as unknown as Record<string, Function>).CreateCertificate.bind(client);
    method(
      { csr: req.csrPem, ttlSeconds: req.ttlSeconds },
      md,
      { deadline: (req.clock ?? systemClock).wallNow() + req.timeoutMs },
      (err: grpc.ServiceError | null, res: CreateCertificateResponse) => {
        if (err) reject(new CaRequestError(err.code, err.details || err.message, { cause: err }));
        else resolve(res);
      },
    );
  }).finally(() => client.close());
}
