// The protobuf wire format the simulator speaks: requests written from pre-encoded parts, and the few response fields it reads.
//
// Nothing is decoded whole. From a DiscoveryResponse the simulator reads version_info, type_url,
// nonce and each resource's Any value (left encoded); from a Cluster its EDS service name, from a
// Listener its RDS route names, and in an EDS resource it looks for the changed address as bytes.

package main

import (
	"bytes"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Type URLs of the four resource types a Ferry sidecar subscribes to.
const (
	clusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	endpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	routeType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	hcmType      = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

// eachField calls fn for every top-level field of msg, in order: the value of a varint field, the
// payload of a length-delimited one (a view of msg, not a copy); other wire types are skipped.
// An error names what was malformed.
func eachField(msg []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte)) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("field tag: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(msg)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			fn(num, typ, v, nil)
			n = m
		case protowire.BytesType:
			b, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			fn(num, typ, 0, b)
			n = m
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
			if n < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
		}
		msg = msg[n:]
	}
	return nil
}

// response is what the simulator reads of a DiscoveryResponse.
type response struct {
	version string
	typeURL string
	nonce   string
	// The value of each resource Any, in order: views of the response bytes.
	resources [][]byte
}

// parseResponse reads a DiscoveryResponse (version_info = 1, resources = 2 with Any.value = 2,
// type_url = 4, nonce = 5) into r, reusing r's resources slice.
func parseResponse(msg []byte, r *response) error {
	r.version, r.typeURL, r.nonce, r.resources = "", "", "", r.resources[:0]
	var inner error
	err := eachField(msg, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) {
		if typ != protowire.BytesType {
			return
		}
		switch num {
		case 1:
			r.version = string(b)
		case 2:
			var value []byte
			if err := eachField(b, func(n protowire.Number, t protowire.Type, _ uint64, v []byte) {
				if n == 2 && t == protowire.BytesType {
					value = v
				}
			}); err != nil && inner == nil {
				inner = fmt.Errorf("resources[%d]: %w", len(r.resources), err)
			}
			r.resources = append(r.resources, value)
		case 4:
			r.typeURL = string(b)
		case 5:
			r.nonce = string(b)
		}
	})
	if err != nil {
		return err
	}
	return inner
}

// clusterEdsName is the EDS resource name a Ferry sidecar subscribes to for an encoded Cluster:
// eds_cluster_config.service_name, else the cluster's name; ok is false when the cluster's
// discovery type is not EDS. (Cluster: name = 1, type = 2, eds_cluster_config = 3;
// EdsClusterConfig: service_name = 2; DiscoveryType EDS = 3.)
func clusterEdsName(cluster []byte) (name string, ok bool, err error) {
	var clusterName, serviceName []byte
	var discoveryType uint64
	var inner error
	err = eachField(cluster, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			clusterName = b
		case num == 2 && typ == protowire.VarintType:
			discoveryType = v
		case num == 3 && typ == protowire.BytesType:
			if e := eachField(b, func(n protowire.Number, t protowire.Type, _ uint64, s []byte) {
				if n == 2 && t == protowire.BytesType {
					serviceName = s
				}
			}); e != nil {
				inner = fmt.Errorf("eds_cluster_config: %w", e)
			}
		}
	})
	if err == nil {
		err = inner
	}
	if err != nil || discoveryType != 3 {
		return "", false, err
	}
	if len(serviceName) > 0 {
		return string(serviceName), true, nil
	}
	return string(clusterName), true, nil
}

// listenerRdsNames appends to out the route configuration names (HCM rds.route_config_name) of an
// encoded Listener: every network filter of filter_chains (3) and default_filter_chain (25) whose
// typed_config (FilterChain.filters = 3, Filter.typed_config = 4, Any: type_url = 1, value = 2)
// is an HttpConnectionManager with rds (3) set (Rds.route_config_name = 2).
func listenerRdsNames(listener []byte, out []string) ([]string, error) {
	var firstErr error
	note := func(what string, err error) {
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", what, err)
		}
	}
	err := eachField(listener, func(num protowire.Number, typ protowire.Type, _ uint64, chain []byte) {
		if (num != 3 && num != 25) || typ != protowire.BytesType {
			return
		}
		note("filter chain", eachField(chain, func(num protowire.Number, typ protowire.Type, _ uint64, filter []byte) {
			if num != 3 || typ != protowire.BytesType {
				return
			}
			note("filter", eachField(filter, func(num protowire.Number, typ protowire.Type, _ uint64, typed []byte) {
				if num != 4 || typ != protowire.BytesType {
					return
				}
				var typeURL, value []byte
				note("typed_config", eachField(typed, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) {
					if typ == protowire.BytesType && num == 1 {
						typeURL = b
					} else if typ == protowire.BytesType && num == 2 {
						value = b
					}
				}))
				if string(typeURL) != hcmType || value == nil {
					return
				}
				note("http_connection_manager", eachField(value, func(num protowire.Number, typ protowire.Type, _ uint64, rds []byte) {
					if num != 3 || typ != protowire.BytesType {
						return
					}
					note("rds", eachField(rds, func(num protowire.Number, typ protowire.Type, _ uint64, name []byte) {
						if num == 2 && typ == protowire.BytesType && len(name) > 0 {
							out = append(out, string(name))
						}
					}))
				}))
			}))
		}))
	})
	if err == nil {
		err = firstErr
	}
	return out, err
}

// sortedUnique sorts names and drops repeats, in place.
func sortedUnique(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}

// resourcesContain reports whether any of the resource values carries marker.
func resourcesContain(resources [][]byte, marker []byte) bool {
	for _, r := range resources {
		if bytes.Contains(r, marker) {
			return true
		}
	}
	return false
}

// ─── requests, pre-encoded ───
// A real sidecar repeats the same node and subscription in every request; each simulated one
// encodes its node once and its resource_names once per subscription change, and otherwise
// only encodes the parts that change (version, nonce).

// nodeField is DiscoveryRequest.node (2) holding Node id = 1, cluster = 2, user_agent_name = 6,
// user_agent_version = 7.
func nodeField(id, cluster, userAgentName, userAgentVersion string) []byte {
	var node []byte
	node = protowire.AppendTag(node, 1, protowire.BytesType)
	node = protowire.AppendString(node, id)
	node = protowire.AppendTag(node, 2, protowire.BytesType)
	node = protowire.AppendString(node, cluster)
	node = protowire.AppendTag(node, 6, protowire.BytesType)
	node = protowire.AppendString(node, userAgentName)
	node = protowire.AppendTag(node, 7, protowire.BytesType)
	node = protowire.AppendString(node, userAgentVersion)
	out := protowire.AppendTag(nil, 2, protowire.BytesType)
	return protowire.AppendBytes(out, node)
}

// resourceNamesField is DiscoveryRequest.resource_names (3), one field per name.
func resourceNamesField(names []string) []byte {
	var out []byte
	for _, n := range names {
		out = protowire.AppendTag(out, 3, protowire.BytesType)
		out = protowire.AppendString(out, n)
	}
	return out
}

// request is an encoded DiscoveryRequest in three parts, sent as they are (rawCodec): a copy of
// the names part, tens of KB in a mesh of 1,000 services, would cost more than the rest of an ACK.
type request struct {
	head  []byte // version_info and node
	names []byte // resource_names, shared by every request until the subscription changes
	tail  []byte // type_url and response_nonce
}

// encodeRequest is a DiscoveryRequest from its parts, fields in number order: version_info (1,
// omitted when empty), the node field, the names field, type_url (4), response_nonce (5, omitted
// when empty). node and names are referenced, not copied, and must not change afterwards: gRPC may
// still hold them after Send returns.
func encodeRequest(version string, node, names []byte, typeURL, nonce string) *request {
	head := node
	if version != "" {
		head = make([]byte, 0, len(version)+len(node)+4)
		head = protowire.AppendTag(head, 1, protowire.BytesType)
		head = protowire.AppendString(head, version)
		head = append(head, node...)
	}
	tail := make([]byte, 0, len(typeURL)+len(nonce)+8)
	tail = protowire.AppendTag(tail, 4, protowire.BytesType)
	tail = protowire.AppendString(tail, typeURL)
	if nonce != "" {
		tail = protowire.AppendTag(tail, 5, protowire.BytesType)
		tail = protowire.AppendString(tail, nonce)
	}
	return &request{head: head, names: names, tail: tail}
}

// bytes is the whole request, joined.
func (r *request) bytes() []byte {
	return slices.Concat(r.head, r.names, r.tail)
}
