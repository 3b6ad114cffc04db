// The dashboard's routes: a request path → a redirect, one of the page's own files or a library file (pure).
//
// Only names listed in `DashboardFiles` are ever served: the path is looked up whole in two maps and
// never joined onto a folder, so no `..`, encoded slash or absolute path can reach another file.

/** What the dashboard may serve: file names → absolute paths on disk. */
export interface DashboardFiles {
  /** The page's own files (index.html, *.mjs, *.css) from its static folder. */
  readonly own: ReadonlyMap<string, string>;
  /** Libraries from installed npm packages, served under /dashboard/lib/<name>. */
  readonly libs: ReadonlyMap<string, string>;
}

export type DashboardRoute =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'file'; readonly file: string; readonly contentType: string; readonly cacheControl: string };

/** Where the page lives; `/` and `/dashboard` redirect here. */
export const DASHBOARD_PATH = '/dashboard/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The page and its own files change with Ferry: revalidate every time (ETag). */
export const OWN_CACHE = 'no-cache';
/** Libraries change only when their package does: a day, then revalidate. */
export const LIB_CACHE = 'public, max-age=86400';

/** The content type of a served file name; null for an extension the dashboard does not serve. */
export function contentTypeOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : CONTENT_TYPES[name.slice(dot + 1)] ?? null;
}

/** The route for a URL path (as parsed, still percent-encoded); null is a 404. */
export function resolveDashboardRoute(pathname: string, files: DashboardFiles): DashboardRoute | null {
  if (pathname === '/' || pathname === '/dashboard') return { kind: 'redirect', location: DASHBOARD_PATH };
  if (!pathname.startsWith(DASHBOARD_PATH)) return null;
  const rest = pathname.slice(DASHBOARD_PATH.length);
  const lib = rest.startsWith('lib/') ? rest.slice('lib/'.length) : null;
  const name = lib ?? (rest === '' ? 'index.html' : rest);
  const file = (lib !== null ? files.libs : files.own).get(name);
  const contentType = contentTypeOf(name);
  if (file === undefined || contentType === null) return null;
  return { kind: 'file', file, contentType, cacheControl: lib !== null ? LIB_CACHE : OWN_CACHE };
}
