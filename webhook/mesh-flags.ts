// The mesh flags `ferry webhook` and `ferry inject` share: controller address, trust domain, system namespace, root file.

import { readFileSync } from 'node:fs';
import { UsageError } from '../src/flags/flags';
import { ConfigError } from '../src/errors';
import { CONTROLLER_SERVICE_NAME, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_TRUST_DOMAIN, PORT_CONTROLLER_GRPC } from '../src/mesh/constants';
import { checkCaRootPem, controllerSpiffeId } from './inject';
import type { InjectOptions } from './types';

export const MESH_FLAGS_USAGE = `  --controller-address ADDR   the controller's mTLS port as pods dial it
                              (default ${CONTROLLER_SERVICE_NAME}.<system-namespace>.svc:${PORT_CONTROLLER_GRPC})
  --trust-domain NAME         default ${DEFAULT_TRUST_DOMAIN}
  --system-namespace NS       where the controller runs (default ${DEFAULT_SYSTEM_NAMESPACE}): pods there are not
                              injected; sidecars expect spiffe://<trust-domain>/ns/NS/sa/ferry-controller
  --ca-root-file FILE         the mesh root certificate (PEM, ≤ 64 KiB), carried into every injected pod
                              (annotation ferry.io/ca-root) so its proxy gets a certificate and speaks mTLS;
                              without it sidecars run without identity
`;

export interface MeshFlagValues {
  readonly controllerAddress?: string;
  readonly trustDomain?: string;
  readonly systemNamespace?: string;
  readonly caRootFile?: string;
}

export type MeshOptions = Pick<InjectOptions, 'controllerAddress' | 'trustDomain' | 'systemNamespace' | 'caRootPem'>;

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Flag values → the mesh part of InjectOptions; reads the root file. Errors are UsageErrors naming the flag. */
export function meshOptionsFromFlags(values: MeshFlagValues, readFile: (file: string) => string = (f) => readFileSync(f, 'utf8')): MeshOptions {
  const systemNamespace = values.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  if (systemNamespace.length > 63 || !NAMESPACE.test(systemNamespace)) {
    throw new UsageError(`flag --system-namespace: "${systemNamespace}" is not a namespace name (lower-case DNS label)`);
  }
  const trustDomain = values.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  try {
    controllerSpiffeId({ trustDomain, systemNamespace });
  } catch (err) {
    throw new UsageError(`flag --trust-domain: "${trustDomain}" cannot name the controller: ${(err as Error).message}`);
  }
  let caRootPem: string | undefined;
  if (values.caRootFile !== undefined) {
    try {
      caRootPem = readFile(values.caRootFile);
    } catch (err) {
      throw new UsageError(`flag --ca-root-file: cannot read ${values.caRootFile}: ${(err as Error).message}`);
    }
    try {
      checkCaRootPem(caRootPem, '--ca-root-file');
    } catch (err) {
      throw new UsageError(`flag ${(err as ConfigError).message} (${values.caRootFile})`);
    }
    caRootPem = `${caRootPem.trim()}\n`;
  }
  return {
    controllerAddress: values.controllerAddress ?? `${CONTROLLER_SERVICE_NAME}.${systemNamespace}.svc:${PORT_CONTROLLER_GRPC}`,
    trustDomain,
    systemNamespace,
    ...(caRootPem !== undefined ? { caRootPem } : {}),
  };
}
