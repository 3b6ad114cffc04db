// Tests for the simulator's wire reading and request writing, over messages built field by field.

package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// msg builds a message from fields: a string or []byte value is length-delimited, an int a varint.
func msg(kv ...any) []byte {
	var out []byte
	for i := 0; i < len(kv); i += 2 {
		num := protowire.Number(kv[i].(int))
		switch v := kv[i+1].(type) {
		case string:
			out = protowire.AppendTag(out, num, protowire.BytesType)
			out = protowire.AppendString(out, v)
		case []byte:
			out = protowire.AppendTag(out, num, protowire.BytesType)
			out = protowire.AppendBytes(out, v)
		case int:
			out = protowire.AppendTag(out, num, protowire.VarintType)
			out = protowire.AppendVarint(out, uint64(v))
		default:
			panic("msg: unsupported value")
		}
	}
	return out
}

func anyOf(typeURL string, value []byte) []byte { return msg(1, typeURL, 2, value) }

func TestEachFieldRejectsTruncatedInput(t *testing.T) {
	cases := map[string][]byte{
		"length past the end": {0x0a, 0x05, 0x61},
		"varint":              {0x08, 0x80},
		"fixed64":             {0x09, 1, 2, 3},
		"fixed32":             {0x0d, 1, 2, 3},
		"tag":                 {0x80},
	}
	for name, in := range cases {
		if err := eachField(in, func(protowire.Number, protowire.Type, uint64, []byte) {}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Fixed-width fields are skipped whole.
	var seen []protowire.Number
	in := append([]byte{0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4}, msg(3, "x")...)
	if err := eachField(in, func(n protowire.Number, _ protowire.Type, _ uint64, _ []byte) { seen = append(seen, n) }); err != nil || !slices.Equal(seen, []protowire.Number{3}) {
		t.Errorf("fixed-width skip: fields %v, err %v", seen, err)
	}
}

func TestParseResponse(t *testing.T) {
	a, b := msg(1, "a"), msg(1, "b")
	in := msg(1, "v7", 2, anyOf(clusterType, a), 2, anyOf(clusterType, b), 3, 1, 4, clusterType, 5, "42", 6, msg(1, "ctl"))
	var r response
	if err := parseResponse(in, &r); err != nil {
		t.Fatal(err)
	}
	if r.version != "v7" || r.typeURL != clusterType || r.nonce != "42" || len(r.resources) != 2 || !bytes.Equal(r.resources[0], a) || !bytes.Equal(r.resources[1], b) {
		t.Errorf("got %+v", r)
	}
	// Reused: the fields of the last response do not linger.
	if err := parseResponse(msg(4, endpointType, 5, "n"), &r); err != nil || r.version != "" || r.nonce != "n" || len(r.resources) != 0 {
		t.Errorf("second response: %+v, %v", r, err)
	}
	if err := parseResponse(msg(2, []byte{0x0a, 0x03, 0x61}), &r); err == nil || !strings.Contains(err.Error(), "resources[0]") {
		t.Errorf("truncated resource: %v", err)
	}
}

func TestClusterEdsName(t *testing.T) {
	eds := msg(1, msg(1, "ads"), 2, "svc-1-eds")
	cases := []struct {
		name    string
		cluster []byte
		want    string
		ok      bool
	}{
		{"EDS with service_name", msg(1, "outbound|80||svc-1", 2, 3, 3, eds), "svc-1-eds", true},
		{"EDS without service_name: the cluster name", msg(1, "outbound|80||svc-2", 2, 3, 3, msg(1, msg(1, "ads"))), "outbound|80||svc-2", true},
		{"EDS, empty service_name", msg(1, "c", 2, 3, 3, msg(2, "")), "c", true},
		{"ORIGINAL_DST", msg(1, "PassthroughCluster", 2, 4), "", false},
		{"STATIC (type absent)", msg(1, "static"), "", false},
	}
	for _, c := range cases {
		got, ok, err := clusterEdsName(c.cluster)
		if err != nil || got != c.want || ok != c.ok {
			t.Errorf("%s: got %q %v %v, want %q %v", c.name, got, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := clusterEdsName(msg(1, "c", 2, 3, 3, []byte{0x12, 0x09})); err == nil {
		t.Error("truncated eds_cluster_config: no error")
	}
}

func TestListenerRdsNames(t *testing.T) {
	hcm := func(inner []byte) []byte { return msg(1, "hcm", 4, anyOf(hcmType, inner)) }
	rdsFilter := func(route string) []byte { return hcm(msg(1, "stat", 3, msg(1, msg(2, msg()), 2, route))) }
	tcp := msg(1, "tcp", 4, anyOf("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", msg(1, "t", 2, "PassthroughCluster")))
	inline := hcm(msg(1, "stat", 4, msg(1, "inline")))
	chain := func(filters ...[]byte) []byte {
		var out []byte
		for _, f := range filters {
			out = append(out, msg(3, f)...)
		}
		return out
	}
	cases := []struct {
		name     string
		listener []byte
		want     []string
	}{
		{"chains, one repeated", msg(1, "outbound", 3, chain(rdsFilter("8080")), 3, chain(rdsFilter("80")), 3, chain(rdsFilter("8080"))), []string{"80", "8080"}},
		{"default chain too", msg(1, "l", 3, chain(tcp), 25, chain(rdsFilter("9090"))), []string{"9090"}},
		{"TCP proxy and inline routes only", msg(1, "l", 3, chain(tcp, inline)), nil},
		{"empty route name", msg(1, "l", 3, chain(rdsFilter(""))), nil},
		{"no chains", msg(1, "l"), nil},
	}
	for _, c := range cases {
		got, err := listenerRdsNames(c.listener, nil)
		if err != nil || !slices.Equal(sortedUnique(got), c.want) {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := listenerRdsNames(msg(3, chain(hcm([]byte{0x1a, 0x05}))), nil); err == nil {
		t.Error("truncated HCM: no error")
	}
}

func TestResourcesContainMatchesTheExactAddress(t *testing.T) {
	cla := func(ip string) []byte {
		socket := msg(2, ip, 3, 8080)
		return msg(1, "svc", 2, msg(2, msg(1, msg(1, msg(1, socket)))))
	}
	marker := msg(2, "10.250.0.1") // SocketAddress.address, as the parent encodes it
	if !resourcesContain([][]byte{cla("10.1.0.1"), cla("10.250.0.1")}, marker) {
		t.Error("10.250.0.1 not found")
	}
	if resourcesContain([][]byte{cla("10.250.0.12")}, marker) {
		t.Error("10.250.0.1 found inside 10.250.0.12")
	}
	if resourcesContain(nil, marker) {
		t.Error("found in no resources")
	}
}

func TestEncodeRequest(t *testing.T) {
	node := nodeField("sidecar~10.1.0.1~svc-0-0-sim0.bench~bench.svc.cluster.local", "bench", "ferry", "0.1.0")
	names := resourceNamesField([]string{"a", "b"})
	want := msg(1, "v1", 2, msg(1, "sidecar~10.1.0.1~svc-0-0-sim0.bench~bench.svc.cluster.local", 2, "bench", 6, "ferry", 7, "0.1.0"), 3, "a", 3, "b", 4, endpointType, 5, "17")
	if got := encodeRequest("v1", node, names, endpointType, "17").bytes(); !bytes.Equal(got, want) {
		t.Errorf("ACK:\n got %x\nwant %x", got, want)
	}
	first := msg(2, msg(1, "n", 2, "bench", 6, "ferry", 7, "0.1.0"), 4, clusterType)
	if got := encodeRequest("", nodeField("n", "bench", "ferry", "0.1.0"), nil, clusterType, "").bytes(); !bytes.Equal(got, first) {
		t.Errorf("first request:\n got %x\nwant %x", got, first)
	}
}

func TestSimulatedNodeID(t *testing.T) {
	cases := []struct {
		j, services int
		want        string
	}{
		{0, 1000, "sidecar~10.1.0.1~svc-0-0-sim0.bench~bench.svc.cluster.local"},
		{999, 1000, "sidecar~10.1.3.250~svc-999-0-sim999.bench~bench.svc.cluster.local"},
		{1250, 1000, "sidecar~10.1.1.1~svc-250-0-sim1250.bench~bench.svc.cluster.local"},
	}
	for _, c := range cases {
		if got := simulatedNodeID(c.j, c.services); got != c.want {
			t.Errorf("simulatedNodeID(%d, %d) = %q, want %q", c.j, c.services, got, c.want)
		}
	}
}
