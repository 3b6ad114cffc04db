// The environment a benchmark run hands every scenario: tools, launch context, CPU pinning, certificates.

import type { MeshCertFiles } from './mesh-certs';
import type { LaunchContext } from './proxy-launch';
import type { ToolPaths } from './tools';

export interface Env {
  readonly tools: ToolPaths;
  readonly launch: LaunchContext;
  /** CPU for fortio (server and client); null = unpinned. */
  readonly loadCpu: number | null;
  readonly upstream: { readonly http: number; readonly tcp: number };
  readonly clockTicks: number;
  /** Certificate files for the pair's mTLS, from a throw-away Ferry CA. */
  readonly certs: MeshCertFiles;
}
