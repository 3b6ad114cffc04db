// A fake Kubernetes API server for tests: answers POST TokenReview from a table of known tokens.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTokenOwner {
  /** e.g. system:serviceaccount:shop:cart */
  readonly username: string;
  /** Audiences the token was minted for; the review answers the intersection with the requested ones. */
  readonly audiences: readonly string[];
}

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

/** Like the API server: authenticated only for known tokens whose audiences intersect the requested ones. */
export class FakeTokenReviewApi {
  readonly tokens = new Map<string, FakeTokenOwner>();
  /** Every review received: token and requested audiences. */
  readonly reviews: { token: string; audiences: string[] }[] = [];
  /** When set, every request is answered with this HTTP status (API server trouble). */
  failWith: number | null = null;
  /** Behave like an API server that ignores spec.audiences: authenticate any known token, answer no audiences. */
  audienceUnaware = false;
  private server: Server | null = null;
  url = '';

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (this.failWith !== null) {
          res.writeHead(this.failWith, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: this.failWith }));
          return;
        }
        if (req.method !== 'POST' || url.pathname !== TOKEN_REVIEW_PATH) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
          return;
        }
        const review = JSON.parse(body) as { spec?: { token?: string; audiences?: string[] } };
        const token = review.spec?.token ?? '';
        const wanted = review.spec?.audiences ?? [];
        this.reviews.push({ token, audiences: wanted });
        const owner = this.tokens.get(token);
        if (owner && this.audienceUnaware) {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec: review.spec, status: { authenticated: true, user: { username: owner.username } } }));
          return;
        }
        const audiences = owner ? owner.audiences.filter((a) => wanted.length === 0 || wanted.includes(a)) : [];
        const authenticated = owner !== undefined && (wanted.length === 0 || audiences.length > 0);
        const status = authenticated
          ? { authenticated: true, audiences, user: { username: owner!.username, uid: 'u-1', groups: ['system:serviceaccounts'] } }
          : { authenticated: false, error: owner ? 'token audiences do not match' : 'invalid bearer token' };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec: review.spec, status }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
