package queue_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/queue"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Push(nil) is a programmer error: nil is Pop's empty result. The panic
// must say so, rather than a nil item silently reading as "empty" later.
func TestPushNilPanics(t *testing.T) {
	defer func() {
		v := recover()
		if s, _ := v.(string); !strings.Contains(s, "Push(nil)") || !strings.Contains(s, "empty") {
			t.Fatalf("Push(nil) panicked with %v, want a message explaining why nil is refused", v)
		}
	}()
	queue.New[int]().Push(nil)
	t.Fatal("Push(nil) did not panic")
}

// The pointer popped is the pointer pushed (zero copy), in FIFO order,
// across several segments.
func TestFIFOIdentity(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := queue.New[[64]byte]()
	items := make([]*[64]byte, 5000)
	for i := range items {
		items[i] = new([64]byte)
		q.Push(items[i])
	}
	if q.Len() != len(items) {
		t.Fatalf("Len = %d, want %d", q.Len(), len(items))
	}
	for i, want := range items {
		if got := q.Pop(); got != want {
			t.Fatalf("pop %d: got %p, want %p", i, got, want)
		}
	}
	if q.Pop() != nil || q.Len() != 0 {
		t.Fatal("queue not empty after popping everything")
	}
}

// rapid state machine: any sequence of Push, Pop and Len agrees with the
// slice model at every step.
func TestStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		q := queue.New[int]()
		var ref model.FIFO[int]
		next := 0
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				n := rapid.IntRange(1, 1100).Draw(t, "n") // sometimes crosses a segment
				for range n {
					next++
					v := next
					q.Push(&v)
					ref.Push(v)
				}
			},
			"pop": func(t *rapid.T) {
				n := rapid.IntRange(1, 1100).Draw(t, "n")
				for range n {
					got := q.Pop()
					want, ok := ref.Pop()
					switch {
					case got == nil && ok:
						t.Fatalf("Pop returned nil, model has %d", want)
					case got != nil && !ok:
						t.Fatalf("Pop returned %d from an empty queue", *got)
					case got != nil && *got != want:
						t.Fatalf("Pop returned %d, want %d", *got, want)
					}
				}
			},
			"": func(t *rapid.T) {
				if q.Len() != ref.Len() {
					t.Fatalf("Len = %d, model has %d", q.Len(), ref.Len())
				}
			},
		})
	})
}

// rapid-generated concurrent scenarios, checked by porcupine: rapid draws
// the number of clients, their programs and the producer/consumer roles,
// and would shrink a failure to a minimal program.
func TestConcurrentScenarios(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(rt *rapid.T) {
		sc := queuetest.Scenario("queue", queuetest.NewQueue)
		sc.Clients = rapid.IntRange(1, 6).Draw(rt, "clients")
		sc.OpsPerClient = rapid.IntRange(1, 10).Draw(rt, "ops")
		if rapid.Bool().Draw(rt, "roles") {
			sc.Roles = [][]int{{1, 0}, {0, 1}}
		}
		sc.Rapid(rt) // the program, drawn, run up to linearize.RapidTries times
	})
}

// Seeded randomized rounds, Lincheck style.
func TestLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := queuetest.Scenario("queue", queuetest.NewQueue)
	sc.Rounds = 500
	sc.Test(t)
}

// A popped item must not be kept alive by the queue: a consumed slot holds
// a sentinel, not the pointer. A queue that left the pointer in the slot
// would keep up to a segment's worth of popped items alive.
func TestPoppedItemsAreCollectable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := queue.New[[1024]byte]()
	collected := make(chan struct{}, 2)
	for range 2 {
		item := new([1024]byte)
		runtime.AddCleanup(item, func(struct{}) { collected <- struct{}{} }, struct{}{})
		q.Push(item)
	}
	q.Pop() // the usual path: the slot is overwritten by the swap
	keep := q.Pop()
	_ = keep
	deadline := time.After(5 * time.Second)
	for n := 0; n < 1; {
		runtime.GC()
		select {
		case <-collected:
			n++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("a popped item was not collected: the queue still references it")
		}
	}
	runtime.KeepAlive(q)
	runtime.KeepAlive(keep)
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// After ten million pushes and pops, consumed segments must have become
// garbage: the live heap returns to within 1 MiB of where it started.
func TestHeapReturnsAfterTenMillion(t *testing.T) {
	testdeadline.Guard(t, 3*testdeadline.Default)
	n := 10_000_000
	if queue.Short {
		n = 1_000_000 // -race or -tags chaos: every atomic operation or switch point costs more
	}
	item := new(int)
	q := queue.New[int]()
	before := liveHeap()
	for range n / 1000 {
		for range 1000 {
			q.Push(item)
		}
		for range 1000 {
			q.Pop()
		}
	}
	for range 100_000 { // and once with a deep backlog
		q.Push(item)
	}
	for range 100_000 {
		q.Pop()
	}
	after := liveHeap()
	runtime.KeepAlive(q)
	grown := int64(after) - int64(before)
	t.Logf("live heap before %d B, after %d B (%+d B)", before, after, grown)
	if grown > 1<<20 {
		t.Fatalf("live heap grew by %d B after %d pushes and pops: consumed segments are retained", grown, n)
	}
}

// Overhead per queued item: the memory a queue holds per item, segments
// included, stays within the bound below, which this port sets below the
// Nim original's stated overhead. BenchmarkQueueBytesPerItem in bench/
// measures the same at a larger scale; a million items are enough to see
// the per-segment overhead.
func TestBytesPerQueuedItem(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const n = 1_000_000
	item := new(int)
	before := liveHeap()
	q := queue.New[int]()
	for range n {
		q.Push(item)
	}
	after := liveHeap()
	per := float64(after-before) / n
	t.Logf("%.3f bytes per queued item", per)
	if per > 9 {
		t.Fatalf("%.3f bytes per queued item, want at most 9", per)
	}
	runtime.KeepAlive(q)
}
