// The sidecar's xDS boundary: a decoded resource of each type → its validated, deep-frozen config.
//
// A bad resource throws ConfigError naming the field (the ADS client NACKs with it). Past this point
// nothing reads protobuf JSON, and nothing can change a config the data path holds, as with configs
// from the bootstrap file.

import { translateCluster } from '../../src/config/cluster';
import { translateClusterLoadAssignment } from '../../src/config/endpoints';
import { deepFreeze } from '../../src/config/freeze';
import { translateListener } from '../../src/config/listener';
import { translateRouteConfiguration } from '../../src/config/route';
import type { ClusterConfig, ListenerConfig, LoadAssignmentConfig, RouteConfiguration } from '../../src/config/types';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';

export const resourceTranslators = Object.freeze({
  [CLUSTER_TYPE]: (obj: unknown, path: string): ClusterConfig => deepFreeze(translateCluster(obj, path)),
  [ENDPOINT_TYPE]: (obj: unknown, path: string): LoadAssignmentConfig => deepFreeze(translateClusterLoadAssignment(obj, path)),
  [LISTENER_TYPE]: (obj: unknown, path: string): ListenerConfig => deepFreeze(translateListener(obj, path)),
  [ROUTE_TYPE]: (obj: unknown, path: string): RouteConfiguration => deepFreeze(translateRouteConfiguration(obj, path)),
});
