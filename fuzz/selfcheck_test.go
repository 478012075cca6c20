package fuzz

import (
	"strings"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/spec"
)

// The checks of FuzzQueue must be able to fail. Each test below hands them
// a deliberately broken queue (made safe for concurrent use by a mutex, so
// that only its semantics are wrong) and an input that exposes it, and
// requires the failure.

// badQueue is a mutex-guarded slice queue whose misbehaviour is chosen by
// its fields.
type badQueue struct {
	mu      sync.Mutex
	items   []*int
	lifo    bool // pop the newest item: order is broken
	lossy   bool // drop every second push: items are lost
	copying bool // pop a copy of the item: identity (zero copy) is broken
	pushes  int
	lenSkew int // added to Len after any pop on the empty queue
}

func (q *badQueue) Push(v *int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushes++
	if q.lossy && q.pushes%2 == 0 {
		return
	}
	q.items = append(q.items, v)
}

func (q *badQueue) Pop() *int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		if q.lenSkew > 0 {
			q.lenSkew = 2 // the skew shows only once the queue was polled empty
		}
		return nil
	}
	var p *int
	if q.lifo {
		p = q.items[len(q.items)-1]
		q.items = q.items[:len(q.items)-1]
	} else {
		p = q.items[0]
		q.items = q.items[1:]
	}
	if q.copying {
		c := *p
		return &c
	}
	return p
}

func (q *badQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.lenSkew == 2 {
		return len(q.items) + 1
	}
	return len(q.items)
}

func TestChecksCatchBrokenQueues(t *testing.T) {
	// One client: pop on empty, push 1, push 2, pop. Warm-up 0.
	const oneClient = "\x00\x00\x01\x00\x00\x01"
	cases := []struct {
		name       string
		make       func() *badQueue
		data       string
		concurrent bool // the linearizability check must catch it too
	}{
		{"lifo", func() *badQueue { return &badQueue{lifo: true} }, oneClient, true},
		{"lossy", func() *badQueue { return &badQueue{lossy: true} }, oneClient, true},
		{"len-skew", func() *badQueue { return &badQueue{lenSkew: 1} }, oneClient, true},
		// Copies carry the right values, so only the sequential replay,
		// which compares pointers, can tell.
		{"copying", func() *badQueue { return &badQueue{copying: true} }, oneClient, false},
		// With a warm-up, the warm-up itself must catch the bug.
		{"lifo-warm", func() *badQueue { return &badQueue{lifo: true} }, "\x00\x01", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newQueue := func() spec.Queue[int] { return c.make() }
			in := decode([]byte(c.data))
			if err := checkSequential(newQueue, in); err == nil {
				t.Errorf("the sequential replay passed a %s queue on input %q", c.name, c.data)
			} else {
				t.Logf("sequential: %v", err)
			}
			if !c.concurrent {
				return
			}
			err := checkConcurrent(newQueue, in, chaosSeed([]byte(c.data)))
			if err == nil {
				t.Fatalf("the concurrent check passed a %s queue on input %q", c.name, c.data)
			}
			if msg := err.Error(); !strings.Contains(msg, "Illegal") || !strings.Contains(msg, "client 0:") {
				t.Errorf("the concurrent failure lacks the verdict or the program:\n%s", msg)
			}
		})
	}
}

// The bug: a decoder that makes inputs longer than the cap (so that one
// input no longer runs in milliseconds), clients out of range, or pushes
// of equal values (which would let a duplicated item pass for another).
func TestDecode(t *testing.T) {
	data := make([]byte, 2+3*maxSteps)
	data[0], data[1] = 255, 255
	for i := 2; i < len(data); i++ {
		data[i] = byte(i * 37)
	}
	in := decode(data)
	if in.clients != maxClients || in.warm != 255*warmStep {
		t.Errorf("clients %d, warm-up %d: want %d and %d", in.clients, in.warm, maxClients, 255*warmStep)
	}
	if len(in.steps) != maxSteps {
		t.Errorf("%d steps, want the cap %d", len(in.steps), maxSteps)
	}
	seen := map[int]bool{}
	pushes := 0
	for _, st := range in.steps {
		if st.client < 0 || st.client >= in.clients {
			t.Errorf("step for client %d of %d", st.client, in.clients)
		}
		if st.push {
			pushes++
			if seen[st.value] || st.value <= 0 {
				t.Errorf("pushed value %d twice or not positive", st.value)
			}
			seen[st.value] = true
		}
	}
	if pushes == 0 || pushes == len(in.steps) {
		t.Errorf("%d pushes in %d steps: the test input should mix both", pushes, len(in.steps))
	}
	if got := program(in); len(got) != in.clients {
		t.Errorf("program has %d clients, want %d", len(got), in.clients)
	}
	if len(in.byClient()) != len(in.steps) {
		t.Errorf("byClient lost or invented steps")
	}
	if e := decode(nil); e.clients != 1 || e.warm != 0 || len(e.steps) != 0 {
		t.Errorf("empty input decodes to %+v, want one idle client", e)
	}
}
