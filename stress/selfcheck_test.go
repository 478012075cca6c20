package stress

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// The conservation and storm checks must be able to fail. These tests run
// them, small, on deliberately broken queues (mutex-guarded, so that only
// their semantics are wrong and the race detector stays quiet) and require
// each break to be reported as what it is.

// brokenQueue is a mutex-guarded slice queue whose misbehaviour is chosen
// by its fields; every is how often the bug strikes (every n-th call).
type brokenQueue struct {
	mu     sync.Mutex
	items  []*item
	pushes int
	pops   int
	every  int
	lose   bool // drop a push
	double bool // queue a push twice
	lifo   bool // pop the newest item
	copy   bool // pop a copy of the item
	lenOff bool // Len one too many
}

func (q *brokenQueue) Push(v *item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushes++
	strike := q.pushes%q.every == 0
	if q.lose && strike {
		return
	}
	q.items = append(q.items, v)
	if q.double && strike {
		q.items = append(q.items, v)
	}
}

func (q *brokenQueue) Pop() *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	q.pops++
	var x *item
	if q.lifo {
		x, q.items = q.items[len(q.items)-1], q.items[:len(q.items)-1]
	} else {
		x, q.items = q.items[0], q.items[1:]
	}
	if q.copy && q.pops%q.every == 0 {
		c := *x
		return &c
	}
	return x
}

func (q *brokenQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.lenOff {
		return len(q.items) + 1
	}
	return len(q.items)
}

var brokenQueues = []struct {
	name string
	make func() *brokenQueue
	want string // a phrase the problems must contain
}{
	{"lose", func() *brokenQueue { return &brokenQueue{every: 997, lose: true} }, "missing"},
	{"double", func() *brokenQueue { return &brokenQueue{every: 997, double: true} }, "more than once"},
	{"lifo", func() *brokenQueue { return &brokenQueue{every: 1, lifo: true} }, "per-producer FIFO order broken"},
	{"copy", func() *brokenQueue { return &brokenQueue{every: 997, copy: true} }, "not an item that was pushed"},
	{"len", func() *brokenQueue { return &brokenQueue{every: 1, lenOff: true} }, "Len = 1"},
}

func requireCaught(t *testing.T, res result, want string) {
	t.Helper()
	if res.hang != "" {
		t.Fatalf("the run hung instead of reporting the bug:\n%s", res.hang)
	}
	all := strings.Join(res.problems, "\n")
	if !strings.Contains(all, want) {
		t.Fatalf("problems do not mention %q:\n%s", want, all)
	}
	t.Logf("caught:\n%s", all)
}

func TestConservationCatchesBrokenQueues(t *testing.T) {
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := conserve(c.make(), conserveConfig{
				producers: 4, consumers: 4, perProducer: 2000,
				stall: 200 * time.Millisecond, finish: time.Minute,
			})
			requireCaught(t, res, c.want)
		})
	}
}

func TestStormCatchesBrokenQueues(t *testing.T) {
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := storm(c.make(), stormConfig{workers: 8, perWorker: 2000, seed: 1, finish: time.Minute})
			want := c.want
			if c.name == "len" {
				want = "quiescent Len" // the storm checks Len before its drain too
			}
			requireCaught(t, res, want)
		})
	}
}
