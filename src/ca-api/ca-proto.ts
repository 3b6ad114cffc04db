// The ferry.ca.v1.CertificateService wire contract (mirrors ca.proto): message codecs, the grpc-js service definition and client.

import { makeGenericClientConstructor, type Client, type ServiceDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';

export const CA_SERVICE_NAME = 'ferry.ca.v1.CertificateService';
export const CREATE_CERTIFICATE_PATH = `/${CA_SERVICE_NAME}/CreateCertificate`;

/** CreateCertificateRequest; `ttlSeconds` 0 means the CA's default. */
export interface CreateCertificateRequest {
  readonly csr: string;
  readonly ttlSeconds: number;
}

export interface CreateCertificateResponse {
  /** Leaf first, then the issuing CA. */
  readonly certChain: string[];
  readonly trustBundle: string;
}

/** Same messages as ca.proto, built in code so the runtime needs no .proto file next to dist/. */
const root = protobuf.Root.fromJSON({
  nested: {
    ferry: {
      nested: {
        ca: {
          nested: {
            v1: {
              nested: {
                CreateCertificateRequest: {
                  fields: { csr: { type: 'string', id: 1 }, ttl_seconds: { type: 'int64', id: 2 } },
                },
                CreateCertificateResponse: {
                  fields: { cert_chain: { rule: 'repeated', type: 'string', id: 1 }, trust_bundle: { type: 'string', id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
});
const REQUEST = root.lookupType('ferry.ca.v1.CreateCertificateRequest');
const RESPONSE = root.lookupType('ferry.ca.v1.CreateCertificateResponse');

export function encodeCreateCertificateRequest(req: CreateCertificateRequest): Buffer {
  return Buffer.from(REQUEST.encode(REQUEST.fromObject({ csr: req.csr, ttl_seconds: req.ttlSeconds })).finish());
}

export function decodeCreateCertificateRequest(buf: Buffer): CreateCertificateRequest {
  const o = REQUEST.toObject(REQUEST.decode(buf), { longs: Number, defaults: true }) as { csr: string; ttl_seconds: number };
  return { csr: o.csr, ttlSeconds: o.ttl_seconds };
}

export function encodeCreateCertificateResponse(res: CreateCertificateResponse): Buffer {
  // Plain strings need no fromObject conversion.
  return Buffer.from(RESPONSE.encode({ cert_chain: res.certChain, trust_bundle: res.trustBundle }).finish());
}

export function decodeCreateCertificateResponse(buf: Buffer): CreateCertificateResponse {
  const o = RESPONSE.toObject(RESPONSE.decode(buf), { defaults: true, arrays: true }) as { cert_chain: string[]; trust_bundle: string };
  return { certChain: o.cert_chain, trustBundle: o.trust_bundle };
}

/** The grpc-js definition of CertificateService. */
export function certificateServiceDefinition(): ServiceDefinition {
  return {
    CreateCertificate: {
      path: CREATE_CERTIFICATE_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeCreateCertificateRequest,
      requestDeserialize: decodeCreateCertificateRequest,
      responseSerialize: encodeCreateCertificateResponse,
      responseDeserialize: decodeCreateCertificateResponse,
      originalName: 'createCertificate',
    },
  } as ServiceDefinition;
}

let clientCtor: ServiceClientConstructor | null = null;

/** The client class: `new (certificateServiceClient())(target, credentials).CreateCertificate(req, md, cb)`. */
export function certificateServiceClient(): ServiceClientConstructor {
  clientCtor ??= makeGenericClientConstructor(certificateServiceDefinition(), 'CertificateService');
  return clientCtor;
}

export type CertificateServiceClient = Client;
