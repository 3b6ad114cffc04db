// Header mutations from route config: removals and HeaderValueOption lists applied to a header record.
//
// Order, as Envoy applies it by default (`most_specific_header_mutations_wins: false`): the route's
// mutations first, then the virtual host's, then the route configuration's. Each level removes
// its `*_headers_to_remove` before it adds its `*_headers_to_add`. Because the least specific level
// runs last, a route-configuration `overwrite` beats a route-level value for the same header, and a
// route-level `add_if_absent` value wins over a virtual-host `add_if_absent` one.
//
// Values are literal (the translator has already resolved anything dynamic). As in Envoy with
// `keep_empty_value: false`, an option whose value is empty is skipped. The record is mutated in
// place; names are lower-case.

import type { HeaderValueOption, RouteConfig, RouteConfiguration, VirtualHostConfig } from '../../src/config/types';

export type MutableHeaders = Record<string, string | string[] | undefined>;

/** One level of mutations: what a route, a virtual host or a route configuration carries. */
export interface HeaderMutationLevel {
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
}

/** Remove then add, for one level. */
export function applyHeaderMutations(
  headers: MutableHeaders,
  toRemove: readonly string[],
  toAdd: readonly HeaderValueOption[],
): void {
  for (let i = 0; i < toRemove.length; i++) delete headers[toRemove[i]];
  for (let i = 0; i < toAdd.length; i++) applyOption(headers, toAdd[i]);
}

/** Applies one HeaderValueOption. */
export function applyOption(headers: MutableHeaders, opt: HeaderValueOption): void {
  if (opt.value === '') return;
  const current = headers[opt.name];
  switch (opt.action) {
    case 'overwrite':
      headers[opt.name] = opt.value;
      return;
    case 'add_if_absent':
      if (current === undefined) headers[opt.name] = opt.value;
      return;
    case 'append':
      if (current === undefined) headers[opt.name] = opt.value;
      else if (typeof current === 'string') headers[opt.name] = [current, opt.value];
      else current.push(opt.value);
      return;
  }
}

/** Request mutations of the route, then the virtual host, then the route configuration. */
export function applyRequestHeaderOps(
  headers: MutableHeaders,
  route: RouteConfig | null,
  vh: VirtualHostConfig | null,
  routeConfig: RouteConfiguration | null,
): void {
  if (route !== null) applyHeaderMutations(headers, route.requestHeadersToRemove, route.requestHeadersToAdd);
  if (vh !== null) applyHeaderMutations(headers, vh.requestHeadersToRemove, vh.requestHeadersToAdd);
  if (routeConfig !== null) {
    applyHeaderMutations(headers, routeConfig.requestHeadersToRemove, routeConfig.requestHeadersToAdd);
  }
}

/** Response mutations, in the same order as the request's. */
export function applyResponseHeaderOps(
  headers: MutableHeaders,
  route: RouteConfig | null,
  vh: VirtualHostConfig | null,
  routeConfig: RouteConfiguration | null,
): void {
  if (route !== null) applyHeaderMutations(headers, route.responseHeadersToRemove, route.responseHeadersToAdd);
  if (vh !== null) applyHeaderMutations(headers, vh.responseHeadersToRemove, vh.responseHeadersToAdd);
  if (routeConfig !== null) {
    applyHeaderMutations(headers, routeConfig.responseHeadersToRemove, routeConfig.responseHeadersToAdd);
  }
}

/** True when no level carries any request mutation (lets the caller skip the call entirely). */
export function hasNoRequestOps(...levels: (HeaderMutationLevel | null)[]): boolean {
  for (const l of levels) {
    if (l !== null && (l.requestHeadersToAdd.length > 0 || l.requestHeadersToRemove.length > 0)) return false;
  }
  return true;
}
