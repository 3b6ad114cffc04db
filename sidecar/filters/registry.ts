// The HTTP filter registry: maps filter type URLs and names to factories and builds a filter chain.
//
// Built-in filters (local rate limit, fault) are registered by default under their Envoy type URL
// and canonical name. Users add their own TypeScript filters with `registerHttpFilter`; a `custom`
// filter config is looked up by its type URL first, then by its name. The router is not built here:
// the connection manager owns it.

import { registerHttpFilterType } from '../../src/config/http-filters';
import type { HttpFilterConfig } from '../../src/config/types';
import { ConfigError, FerryError } from '../../src/errors';
import { FAULT_FILTER_NAME, FAULT_TYPE_URL, createFaultFilter } from './fault';
import { RBAC_FILTER_NAME, RBAC_TYPE_URL, createRbacFilter } from './rbac';
import { LOCAL_RATELIMIT_FILTER_NAME, LOCAL_RATELIMIT_TYPE_URL, createLocalRateLimitFilter } from './local-ratelimit';
import type { FilterFactoryDeps, HttpFilter, HttpFilterFactory } from './types';

export class HttpFilterRegistry {
  private readonly factories = new Map<string, HttpFilterFactory>();

  /**
   * Registers a factory under a type URL (`type.googleapis.com/acme.AuthFilter`) or a name
   * (`acme.auth`). A key can be registered once unless `replace` is set.
   */
  register(typeUrlOrName: string, factory: HttpFilterFactory, options: { replace?: boolean } = {}): void {
    if (!typeUrlOrName) throw new FerryError('FERRY_ERR_FILTER_REGISTRY', 'an HTTP filter needs a type URL or name');
    if (this.factories.has(typeUrlOrName) && !options.replace) {
      throw new FerryError('FERRY_ERR_FILTER_REGISTRY', `an HTTP filter is already registered as ${typeUrlOrName}`);
    }
    this.factories.set(typeUrlOrName, factory);
  }

  unregister(typeUrlOrName: string): boolean {
    return this.factories.delete(typeUrlOrName);
  }

  has(typeUrlOrName: string): boolean {
    return this.factories.has(typeUrlOrName);
  }

  /** The factory for a filter config, or undefined (always undefined for the router). */
  factoryFor(config: HttpFilterConfig): HttpFilterFactory | undefined {
    switch (config.kind) {
      case 'router':
        return undefined;
      case 'local_ratelimit':
        return this.factories.get(LOCAL_RATELIMIT_TYPE_URL);
      case 'fault':
        return this.factories.get(FAULT_TYPE_URL);
      case 'rbac':
        return this.factories.get(RBAC_TYPE_URL);
      case 'custom':
        return this.factories.get(config.typeUrl) ?? this.factories.get(config.name);
    }
  }

  /**
   * Builds the filters of one connection manager, in configured order, skipping the router.
   * A filter without a factory, or a factory that throws, is a ConfigError naming the filter.
   */
  create(configs: readonly HttpFilterConfig[], deps: FilterFactoryDeps): HttpFilter[] {
    const filters: HttpFilter[] = [];
    for (let i = 0; i < configs.length; i++) {
      const config = configs[i];
      if (config.kind === 'router') continue;
      const path = `http_filters[${i}]`;
      const factory = this.factoryFor(config);
      if (factory === undefined) {
        const what = config.kind === 'custom' ? `${config.typeUrl} (name ${config.name})` : config.kind;
        throw new ConfigError(path, `no HTTP filter is registered for ${what}`);
      }
      let filter: HttpFilter;
      try {
        filter = factory(config, deps);
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        throw new ConfigError(path, `filter ${config.name} could not be created: ${message}`, { cause: err });
      }
      filters.push(filter);
    }
    return filters;
  }
}

function withBuiltins(registry: HttpFilterRegistry): HttpFilterRegistry {
  registry.register(LOCAL_RATELIMIT_TYPE_URL, createLocalRateLimitFilter);
  registry.register(LOCAL_RATELIMIT_FILTER_NAME, createLocalRateLimitFilter);
  registry.register(RBAC_TYPE_URL, createRbacFilter);
  registry.register(RBAC_FILTER_NAME, createRbacFilter);
  registry.register(FAULT_TYPE_URL, createFaultFilter);
  registry.register(FAULT_FILTER_NAME, createFaultFilter);
  return registry;
}

/** A fresh registry holding only the built-in filters (useful for tests and embedders). */
export function createFilterRegistry(): HttpFilterRegistry {
  return withBuiltins(new HttpFilterRegistry());
}

/** The process-wide registry the sidecar uses. */
export const defaultFilterRegistry: HttpFilterRegistry = createFilterRegistry();

/**
 * Registers a user filter in the process-wide registry, and tells config translation to turn
 * filters of this type URL or name into a CustomFilterConfig (instead of rejecting them).
 */
export function registerHttpFilter(
  typeUrlOrName: string,
  factory: HttpFilterFactory,
  options: { replace?: boolean } = {},
): void {
  defaultFilterRegistry.register(typeUrlOrName, factory, options);
  registerHttpFilterType(typeUrlOrName);
}

/** Whether a custom filter type URL or name can be built (lets xDS translation NACK unknown ones). */
export function isHttpFilterRegistered(typeUrlOrName: string): boolean {
  return defaultFilterRegistry.has(typeUrlOrName);
}

/** Builds a connection manager's filter chain from the process-wide registry. */
export function createHttpFilters(
  configs: readonly HttpFilterConfig[],
  deps: FilterFactoryDeps,
  registry: HttpFilterRegistry = defaultFilterRegistry,
): HttpFilter[] {
  return registry.create(configs, deps);
}
