// Kubernetes TokenReview: asks the API server whether a projected ServiceAccount token is valid for our audience, and whose it is.

import { TokenError } from './bootstrap-token';
import { AuthenticatorUnavailableError, type TokenReviewer } from './authenticator';

type K8s = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });
type KubeConfig = InstanceType<K8s['KubeConfig']>;

export interface KubernetesTokenReviewerOptions {
  /** A kubeconfig file; without it, in-cluster config when running in a pod, else the default kubeconfig. */
  readonly kubeconfig?: string | null;
  /** An already-loaded KubeConfig (tests). */
  readonly kubeConfig?: KubeConfig;
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

interface ReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  error?: string;
  user?: { username?: string };
}

/**
 * Sends `TokenReview{spec: {token, audiences: [audience]}}`. Accepted only if the API server says
 * authenticated, lists our audience in status.audiences (an empty list means the token is for the
 * API server itself, not for us), and the user is a ServiceAccount `system:serviceaccount:<ns>:<sa>`.
 */
export class KubernetesTokenReviewer implements TokenReviewer {
  #api: Promise<{ createTokenReview(p: { body: unknown }): Promise<{ status?: ReviewStatus }> }> | null = null;

  constructor(private readonly opts: KubernetesTokenReviewerOptions = {}) {}

  #client() {
    this.#api ??= (async () => {
      const k8s: K8s = await import('@kubernetes/client-node');
      let kc = this.opts.kubeConfig;
      if (!kc) {
        kc = new k8s.KubeConfig();
        if (this.opts.kubeconfig) kc.loadFromFile(this.opts.kubeconfig);
        else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
        else kc.loadFromDefault();
      }
      return kc.makeApiClient(k8s.AuthenticationV1Api) as never;
    })();
    return this.#api;
  }

  async review(token: string, audience: string): Promise<{ namespace: string; serviceAccount: string }> {
    const api = await this.#client();
    let status: ReviewStatus | undefined;
    try {
      const res = await api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
      });
      status = res.status;
    } catch (err) {
      throw new AuthenticatorUnavailableError(`TokenReview failed: ${(err as Error).message}`, { cause: err });
    }
    if (!status?.authenticated) {
      throw new TokenError('not_authenticated', `the API server did not authenticate the token${status?.error ? `: ${status.error}` : ''}`);
    }
    if (!(status.audiences ?? []).includes(audience)) {
      throw new TokenError('wrong_audience', `token is not valid for audience ${JSON.stringify(audience)} (got ${JSON.stringify(status.audiences ?? [])})`);
    }
    const m = SA_USER.exec(status.user?.username ?? '');
    if (!m) throw new TokenError('bad_identity', `user ${JSON.stringify(status.user?.username ?? '')} is not a ServiceAccount`);
    return { namespace: m[1], serviceAccount: m[2] };
  }
}
