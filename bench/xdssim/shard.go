// A shard of simulated sidecars: opens their streams in waves, tracks the change the parent expects, and reports to the parent.

package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
)

// openAhead is how many streams may be open but not yet synced: they connect in waves, as the
// pods of a rollout would.
const openAhead = 50

// expectation is a change the parent announced: every stream is to ACK an EDS response whose
// resources carry marker.
type expectation struct {
	id     int
	marker []byte
	// Guarded by shard.mu.
	first, last float64
	pending     int
}

type shard struct {
	target   string
	from     int
	count    int
	services int
	report   *reporter
	ctx      context.Context
	cancel   context.CancelFunc

	stopping    atomic.Bool
	expectation atomic.Pointer[expectation]

	mu     sync.Mutex
	conns  []*grpc.ClientConn
	next   int
	synced int
}

func newShard(target string, from, count, services int, report *reporter) *shard {
	ctx, cancel := context.WithCancel(context.Background())
	return &shard{target: target, from: from, count: count, services: services, report: report, ctx: ctx, cancel: cancel, next: from}
}

func (sh *shard) start() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.openMore()
}

// openMore starts streams while fewer than openAhead are unsynced. Called with mu held.
func (sh *shard) openMore() {
	for sh.next < sh.from+sh.count && sh.next-sh.from-sh.synced < openAhead && !sh.stopping.Load() {
		s, err := newSimStream(sh, sh.next)
		if err != nil {
			sh.fail(err.Error())
			return
		}
		sh.conns = append(sh.conns, s.conn)
		sh.next++
		go s.run(sh.ctx)
	}
}

func (sh *shard) streamSynced() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.synced++
	if sh.synced == sh.count {
		sh.report.send(message{Type: "synced"})
	} else {
		sh.openMore()
	}
}

// expect arms change id: from now on each stream looks for marker in its EDS responses.
func (sh *shard) expect(id int, marker []byte) {
	sh.mu.Lock()
	e := &expectation{id: id, marker: marker, pending: len(sh.conns)}
	sh.mu.Unlock()
	sh.expectation.Store(e)
	sh.report.send(message{Type: "armed", ID: id})
}

// met records that one stream has written its ACK of change e at wall-clock ms at.
func (sh *shard) met(e *expectation, at float64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e.first == 0 || at < e.first {
		e.first = at
	}
	e.last = max(e.last, at)
	e.pending--
	if e.pending == 0 {
		sh.report.send(message{Type: "converged", ID: e.id, First: e.first, Last: e.last})
	}
}

func (sh *shard) fail(text string) {
	sh.report.send(message{Type: "error", Message: text})
}

// stop ends every stream and closes every connection; errors from then on are not reported.
func (sh *shard) stop() {
	sh.stopping.Store(true)
	sh.cancel()
	sh.mu.Lock()
	conns := sh.conns
	sh.mu.Unlock()
	for _, c := range conns {
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "xdssim: closing a connection: %v\n", err)
		}
	}
}
