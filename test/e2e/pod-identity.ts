// Test support for the namespace end-to-end tests: the mesh CA and each pod's identity files, as an operator and an injector would make them.
//
// `ferry certs root` and `ferry certs intermediate` make the issuing CA the controller loads
// (--ca-dir); a random HMAC key signs bootstrap tokens (--token-key). Each pod gets its own folder
// with the mesh root (world-readable, like a ConfigMap) and its token (0600, owned by the proxy UID,
// like a projected token): the sidecar runs as that UID and can read nothing else here, in
// particular not the CA's private key.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY } from './netns-lab';

/** What the controller is started with. */
export interface MeshCa {
  /** The issuing CA folder (`--ca-dir`). */
  readonly caDir: string;
  /** The bootstrap-token key (`--token-key`). */
  readonly tokenKey: string;
}

/** What one pod's sidecar is started with (as FERRY_CA_ROOT_FILE and FERRY_TOKEN_FILE). */
export interface PodIdentityFiles {
  readonly rootFile: string;
  readonly tokenFile: string;
}

/** `ferry ARGS…` to completion in the root namespace; its stdout, or an error with its output. */
function ferrySync(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [FERRY, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A root and an issuing CA under `dir/pki` (root only), and the token key. */
export function createMeshCa(dir: string): MeshCa {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { mode: 0o700 });
  ferrySync(['certs', 'root', '--out', join(pki, 'root')]);
  ferrySync(['certs', 'intermediate', '--root', join(pki, 'root'), '--out', join(pki, 'ca')]);
  const tokenKey = join(pki, 'token.key');
  writeFileSync(tokenKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return { caDir: join(pki, 'ca'), tokenKey };
}

/**
 * `dir/pods/<role>/` with the mesh root and a bootstrap token for `namespace/serviceAccount`, readable
 * by `uid`. `dir` itself must let `uid` through (mode 0711 at least).
 */
export function podIdentityFiles(dir: string, ca: MeshCa, role: string, namespace: string, serviceAccount: string, uid: number): PodIdentityFiles {
  const podDir = join(dir, 'pods', role);
  mkdirSync(podDir, { recursive: true, mode: 0o755 });
  chmodSync(join(dir, 'pods'), 0o755);
  const rootFile = join(podDir, 'root-cert.pem');
  copyFileSync(join(ca.caDir, 'root-cert.pem'), rootFile);
  chmodSync(rootFile, 0o644);
  const tokenFile = join(podDir, 'token');
  writeFileSync(tokenFile, ferrySync(['token', '--namespace', namespace, '--service-account', serviceAccount, '--token-key', ca.tokenKey]), { mode: 0o600 });
  chownSync(tokenFile, uid, uid);
  return { rootFile, tokenFile };
}
