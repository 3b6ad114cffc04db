// One simulated Ferry sidecar: its own gRPC connection and ADS stream, subscribing like the sidecar and ACKing every response.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
)

const adsMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

var adsStreamDesc = grpc.StreamDesc{StreamName: "StreamAggregatedResources", ServerStreams: true, ClientStreams: true}

// Largest response accepted: the initial CDS and LDS responses of a big mesh are several MB.
const maxMessageBytes = 64 << 20

// Room to batch frames before a write: an EDS ACK names every subscribed cluster (about 46 KB at
// 1,000 services) and goes out in one write rather than two.
const writeBufferBytes = 128 << 10

// Flow-control windows, static: grpc-go's dynamic windows would send BDP pings the controller
// has to answer, which a real sidecar does not.
const windowBytes = 4 << 20

// rawCodec hands messages through as bytes: requests are written pre-encoded, in parts (*request),
// and responses read from the wire (wire.go) out of the transport's own buffers (*mem.Buffer,
// which the receiver frees). It says "proto" because the bytes are protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*request)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T, want *request", v)
	}
	out := make(mem.BufferSlice, 0, 3)
	for _, b := range [][]byte{r.head, r.names, r.tail} {
		if len(b) > 0 {
			out = append(out, mem.SliceBuffer(b))
		}
	}
	return out, nil
}

// Unmarshal hands the message over as one buffer: a reference to the transport's when it arrived
// in one piece, else a pooled copy. data itself is freed once this returns; the buffer is not.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*mem.Buffer)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T, want *mem.Buffer", v)
	}
	*p = data.MaterializeToBuffer(mem.DefaultBufferPool())
	return nil
}

// Index of each subscribed type in simStream.types.
const (
	cds = iota
	lds
	eds
	rds
	typeCount
)

var typeURLs = [typeCount]string{cds: clusterType, lds: listenerType, eds: endpointType, rds: routeType}

func typeIndex(url string) int {
	switch url {
	case clusterType:
		return cds
	case listenerType:
		return lds
	case endpointType:
		return eds
	case routeType:
		return rds
	}
	return -1
}

type typeState struct {
	// nil: wildcard; otherwise the subscribed names, sorted.
	names []string
	// names as encoded resource_names fields, once per subscription change.
	namesField []byte
	version    string
	nonce      string
}

type simStream struct {
	j      int
	shard  *shard
	conn   *grpc.ClientConn
	call   grpc.ClientStream
	node   []byte
	types  [typeCount]typeState
	synced bool
	// The expectation this stream has already met.
	metID int
}

func newSimStream(sh *shard, j int) (*simStream, error) {
	conn, err := grpc.NewClient("passthrough:///"+sh.target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithWriteBufferSize(writeBufferBytes),
		grpc.WithInitialWindowSize(windowBytes),
		grpc.WithInitialConnWindowSize(windowBytes),
	)
	if err != nil {
		return nil, fmt.Errorf("stream %d: %w", j, err)
	}
	s := &simStream{j: j, shard: sh, conn: conn, node: nodeField(simulatedNodeID(j, sh.services), "bench", "ferry", "0.1.0")}
	s.types[eds].names = []string{}
	s.types[rds].names = []string{}
	return s, nil
}

// run opens the stream, subscribes to CDS and LDS and answers responses until the stream ends.
func (s *simStream) run(ctx context.Context) {
	if err := s.serve(ctx); err != nil && !s.shard.stopping.Load() {
		s.shard.fail(fmt.Sprintf("stream %d: %v", s.j, err))
	}
}

func (s *simStream) serve(ctx context.Context) error {
	call, err := s.conn.NewStream(ctx, &adsStreamDesc, adsMethod, grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(maxMessageBytes))
	if err != nil {
		return err
	}
	s.call = call
	if err := s.send(cds); err != nil {
		return s.sendError(err)
	}
	if err := s.send(lds); err != nil {
		return s.sendError(err)
	}
	var res response
	for {
		var msg mem.Buffer
		if err := call.RecvMsg(&msg); err != nil {
			if err == io.EOF {
				return errors.New("the server ended the stream")
			}
			return err
		}
		err := parseResponse(msg.ReadOnlyData(), &res)
		if err != nil {
			err = fmt.Errorf("malformed DiscoveryResponse: %w", err)
		} else {
			err = s.onResponse(&res)
		}
		// res.resources are views of msg: done with them before it goes back to the pool.
		clear(res.resources)
		msg.Free()
		if err != nil {
			return err
		}
	}
}

// sendError is the stream's real failure when a send failed: SendMsg reports only io.EOF, and
// RecvMsg the status.
func (s *simStream) sendError(err error) error {
	if err != io.EOF {
		return err
	}
	for {
		var discard mem.Buffer
		rerr := s.call.RecvMsg(&discard)
		if rerr != nil {
			if rerr == io.EOF {
				return errors.New("the server ended the stream")
			}
			return rerr
		}
		discard.Free()
	}
}

func (s *simStream) send(t int) error {
	st := &s.types[t]
	return s.call.SendMsg(encodeRequest(st.version, s.node, st.namesField, typeURLs[t], st.nonce))
}

// subscribe asks for names of type t (sorted, deduplicated here) unless they are what it has.
func (s *simStream) subscribe(t int, names []string) error {
	st := &s.types[t]
	names = sortedUnique(names)
	if st.names != nil && slices.Equal(st.names, names) {
		return nil
	}
	st.names = names
	st.namesField = resourceNamesField(names)
	return s.send(t)
}

func (s *simStream) onResponse(res *response) error {
	t := typeIndex(res.typeURL)
	if t < 0 {
		return nil
	}
	st := &s.types[t]
	st.version, st.nonce = res.version, res.nonce
	if err := s.send(t); err != nil { // the ACK
		return s.sendError(err)
	}
	var err error
	switch t {
	case cds:
		names := make([]string, 0, len(res.resources))
		for i, r := range res.resources {
			name, ok, e := clusterEdsName(r)
			if e != nil {
				return fmt.Errorf("CDS resources[%d]: %w", i, e)
			}
			if ok {
				names = append(names, name)
			}
		}
		err = s.subscribe(eds, names)
	case lds:
		var names []string
		for i, r := range res.resources {
			var e error
			if names, e = listenerRdsNames(r, names); e != nil {
				return fmt.Errorf("LDS resources[%d]: %w", i, e)
			}
		}
		if names == nil {
			names = []string{}
		}
		err = s.subscribe(rds, names)
	case eds:
		if e := s.shard.expectation.Load(); e != nil && s.metID != e.id && resourcesContain(res.resources, e.marker) {
			s.metID = e.id
			s.shard.met(e, wallMillis(time.Now()))
		}
	}
	if err != nil {
		return s.sendError(err)
	}
	if !s.synced && s.allSynced() {
		s.synced = true
		s.shard.streamSynced()
	}
	return nil
}

// allSynced: every type has had a response, or is subscribed to no names.
func (s *simStream) allSynced() bool {
	for i := range s.types {
		st := &s.types[i]
		if st.version == "" && (st.names == nil || len(st.names) > 0) {
			return false
		}
	}
	return true
}

// wallMillis is t as milliseconds since the Unix epoch with sub-millisecond precision, the
// clock the parent reads with performance.timeOrigin + performance.now().
func wallMillis(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e6
}
