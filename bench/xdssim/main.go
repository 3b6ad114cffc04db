// Command xdssim is a shard of simulated Ferry sidecars for the xds-convergence benchmark: K ADS streams on a controller, each ACKing everything.
//
//	xdssim --target=H:P --from=J --count=K --services=S
//
// Streams J … J+K-1 each have their own gRPC connection (as separate pods would) and one
// StreamAggregatedResources call. Each subscribes to CDS and LDS (wildcard), then to EDS for the
// clusters' EDS names and RDS for the listeners' route names, and ACKs every response. The node id
// of stream j is simulatedNodeId(j, S) of bench/xds-registry.ts.
//
// The parent talks over JSON lines. On stdin: {"cmd":"expect","id":N,"marker":"<hex>"} arms
// change N; {"cmd":"stop"} (or the end of stdin) closes everything and exits. On stdout:
// {"type":"synced"} once every stream has had all four types answered, {"type":"armed","id":N},
// {"type":"converged","id":N,"first":ms,"last":ms} once every stream has written (Send returned)
// its ACK of an EDS response whose resources carry the marker bytes (first and last such time,
// wall-clock ms since the Unix epoch), {"type":"error","message":"..."}.
//
// Load generator and controller share a machine: this runs on whatever CPUs it is given (GOMAXPROCS
// as the environment sets it, one CPU under taskset) and keeps its per-response work small so the
// measured time is the controller's.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

var stderr io.Writer = os.Stderr

// message is one line to the parent.
type message struct {
	Type    string  `json:"type"`
	ID      int     `json:"id,omitempty"`
	First   float64 `json:"first,omitempty"`
	Last    float64 `json:"last,omitempty"`
	Message string  `json:"message,omitempty"`
}

// command is one line from the parent.
type command struct {
	Cmd    string `json:"cmd"`
	ID     int    `json:"id"`
	Marker string `json:"marker"`
}

// reporter writes messages to the parent, one JSON object per line, from any goroutine.
type reporter struct {
	mu  sync.Mutex
	out io.Writer
}

func (r *reporter) send(m message) {
	line, err := json.Marshal(m)
	if err != nil {
		panic(err) // message holds only numbers and strings
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.out.Write(append(line, '\n')); err != nil {
		fmt.Fprintf(stderr, "xdssim: writing to the parent: %v\n", err)
	}
}

// simulatedNodeID is the Istio-style node id of simulated proxy j, as simulatedNodeId in
// bench/xds-registry.ts: its pod is endpoint 0 of service j mod services.
func simulatedNodeID(j, services int) string {
	i := j % services
	return fmt.Sprintf("sidecar~10.1.%d.%d~svc-%d-0-sim%d.bench~bench.svc.cluster.local", i/250, i%250+1, i, j)
}

// serveParent reads commands until "stop" or the end of in.
func serveParent(in io.Reader, sh *shard) {
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		text := strings.TrimSpace(lines.Text())
		if text == "" {
			continue
		}
		var c command
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			sh.fail(fmt.Sprintf("command %q: %v", text, err))
			continue
		}
		switch c.Cmd {
		case "expect":
			marker, err := hex.DecodeString(c.Marker)
			if err != nil || len(marker) == 0 || c.ID <= 0 {
				sh.fail(fmt.Sprintf("command %q: expect needs an id > 0 and a non-empty hex marker", text))
				continue
			}
			sh.expect(c.ID, marker)
		case "stop":
			return
		default:
			sh.fail(fmt.Sprintf("command %q: unknown cmd %q (want expect or stop)", text, c.Cmd))
		}
	}
	if err := lines.Err(); err != nil {
		fmt.Fprintf(stderr, "xdssim: reading commands: %v\n", err)
	}
}

func main() {
	flags := flag.NewFlagSet("xdssim", flag.ContinueOnError)
	target := flags.String("target", "", "the ADS server, host:port (plain text)")
	from := flags.Int("from", -1, "index of the first simulated proxy")
	count := flags.Int("count", 0, "how many proxies (streams) to simulate")
	services := flags.Int("services", 0, "services in the generated registry (for node ids)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	switch {
	case *target == "" || !strings.Contains(*target, ":"):
		fmt.Fprintln(stderr, "xdssim: --target=host:port is required")
		os.Exit(2)
	case *from < 0:
		fmt.Fprintln(stderr, "xdssim: --from=J (J ≥ 0) is required")
		os.Exit(2)
	case *count <= 0:
		fmt.Fprintln(stderr, "xdssim: --count=K (K > 0) is required")
		os.Exit(2)
	case *services <= 0:
		fmt.Fprintln(stderr, "xdssim: --services=S (S > 0) is required")
		os.Exit(2)
	}
	sh := newShard(*target, *from, *count, *services, &reporter{out: os.Stdout})
	sh.start()
	serveParent(os.Stdin, sh)
	sh.stop()
}
