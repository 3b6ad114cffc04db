// The mesh dashboard on the controller's admin port: its page and the graph and chart libraries, served from disk.
//
// The page's files are read from src/controller/dashboard/static/ under the repository root (tsc does
// not copy them to dist/), the libraries from the installed cytoscape and uplot packages; nothing is
// fetched from elsewhere. Files are read per request (they are few and small) and revalidated with an
// ETag made of their size and modification time.

import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import { FerryError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { AdminPage, AdminSources } from '../admin/admin-server';
import { contentTypeOf, resolveDashboardRoute, type DashboardFiles } from './routes';

/** The repository root, from dist/src/controller/dashboard. */
const REPO = resolve(__dirname, '..', '..', '..', '..');

/** The page's own files, under the repository root. */
export const STATIC_DIR = join(REPO, 'src', 'controller', 'dashboard', 'static');

/** Served name → the module path require.resolve finds it by. */
const LIBRARIES: Readonly<Record<string, string>> = {
  'cytoscape.min.js': 'cytoscape/dist/cytoscape.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** Only plain names of types the dashboard serves are picked up from its folder. */
const OWN_NAME = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\.(html|mjs|css|svg)$/;

/** HTML gets a policy allowing nothing but this origin (the libraries set inline styles). */
const PAGE_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/** The files the dashboard serves: its folder's files and the libraries resolved from node_modules. */
export function dashboardFiles(staticDir = STATIC_DIR, resolveModule: (id: string) => string = require.resolve): DashboardFiles {
  let names: string[];
  try {
    names = readdirSync(staticDir);
  } catch (err) {
    throw new FerryError('FERRY_ERR_DASHBOARD_FILES', `dashboard: cannot read its page folder ${staticDir}: ${(err as Error).message}`, { cause: err });
  }
  const own = new Map(names.filter((n) => OWN_NAME.test(n) && contentTypeOf(n) !== null).map((n) => [n, join(staticDir, n)]));
  if (!own.has('index.html')) throw new FerryError('FERRY_ERR_DASHBOARD_FILES', `dashboard: no index.html in ${staticDir}`);
  const libs = new Map<string, string>();
  for (const [name, id] of Object.entries(LIBRARIES)) {
    try {
      libs.set(name, resolveModule(id));
    } catch (err) {
      throw new FerryError('FERRY_ERR_DASHBOARD_FILES', `dashboard: cannot find ${id} (package ${id.split('/')[0]}): ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
  return { own, libs };
}

export class Dashboard {
  constructor(private readonly files: DashboardFiles = dashboardFiles()) {}

  /** The reply for a path, or null when it is not the dashboard's (the admin server answers 404). */
  async page(pathname: string, headers: IncomingHttpHeaders): Promise<AdminPage | null> {
    const route = resolveDashboardRoute(pathname, this.files);
    if (route === null) return null;
    if (route.kind === 'redirect') return { status: 302, headers: { location: route.location, 'cache-control': 'no-cache' }, body: '' };
    let info;
    try {
      info = await stat(route.file);
    } catch {
      return null; // removed since start-up
    }
    const etag = `"${info.size.toString(16)}-${Math.trunc(info.mtimeMs).toString(16)}"`;
    const common: Record<string, string> = {
      'cache-control': route.cacheControl,
      etag,
      'x-content-type-options': 'nosniff',
      ...(route.contentType.startsWith('text/html') ? { 'content-security-policy': PAGE_POLICY } : {}),
    };
    if (matches(headers['if-none-match'], etag)) return { status: 304, headers: common, body: '' };
    return { status: 200, headers: { ...common, 'content-type': route.contentType }, body: await readFile(route.file) };
  }
}

/**
 * The dashboard as the admin server's page source. Missing files (a copy of dist/ without the
 * repository's src/controller/dashboard/static/, or without node_modules) leave the controller
 * running without it: a warning names what is missing and / stays a 404.
 */
export function dashboardPages(logger: Logger): AdminSources['pages'] {
  try {
    const dashboard = new Dashboard();
    return (pathname, headers) => dashboard.page(pathname, headers);
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    logger.warn('dashboard off', { code: err.code, error: err.message });
    return undefined;
  }
}

/** Whether an If-None-Match header names the ETag (a list, weak or not, or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}
