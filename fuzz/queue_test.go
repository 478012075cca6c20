package fuzz

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

const (
	// maxClients bounds the clients of a program: byte 0 picks 1..maxClients.
	maxClients = 4
	// warmStep scales byte 1 into the warm-up: 0, 8, ..., 2040 pushes and
	// pops before the program, which moves the program's indices across the
	// first two segment boundaries of impl/queue (1016 and 2032 slots).
	warmStep = 8
	// maxSteps caps the program so that one input, its sequential replays
	// and the linearizability check of its concurrent run take milliseconds.
	// Bytes past the cap are ignored.
	maxSteps = 48
)

// A step is one operation of a decoded program.
type step struct {
	client int
	push   bool
	value  int // distinct, 1, 2, ... in byte order; 0 for a pop
}

// An input is a decoded fuzz input.
type input struct {
	clients int
	warm    int    // pushes, then as many pops, before the program
	steps   []step // in byte order: one interleaving of the clients' programs
}

// decode turns data into a program, deterministically; every byte string
// is a valid input.
func decode(data []byte) input {
	in := input{clients: 1}
	if len(data) > 0 {
		in.clients = 1 + int(data[0])%maxClients
	}
	if len(data) > 1 {
		in.warm = int(data[1]) * warmStep
	}
	if len(data) > 2 {
		body := data[2:]
		if len(body) > maxSteps {
			body = body[:maxSteps]
		}
		next := 0
		for _, b := range body {
			st := step{client: int(b>>1) % in.clients, push: b&1 == 0}
			if st.push {
				next++
				st.value = next
			}
			in.steps = append(in.steps, st)
		}
	}
	return in
}

// byClient returns the steps client by client, each client's in its own
// order: the interleaving in which the clients run one after another.
func (in input) byClient() []step {
	out := make([]step, 0, len(in.steps))
	for c := range in.clients {
		for _, st := range in.steps {
			if st.client == c {
				out = append(out, st)
			}
		}
	}
	return out
}

// warmUp pushes and pops n items on q, which must be empty, leaving it
// empty with n indices consumed. It reports the first pop that is not the
// item pushed n places earlier.
func warmUp(q spec.Queue[int], n int) error {
	items := make([]int, n)
	for i := range items {
		items[i] = -1 - i // negative: never one of the program's values
		q.Push(&items[i])
	}
	for i := range items {
		// The bug: an item lost, repeated or reordered, or copied
		// instead of moved, before the program even starts.
		if got := q.Pop(); got != &items[i] {
			return fmt.Errorf("warm-up pop %d of %d: got %s, want the item pushed as %d", i, n, describe(got), items[i])
		}
	}
	return nil
}

// replay runs steps one at a time on q, after a warm-up, and on model.FIFO,
// requiring the same result from every Pop and Len, then drains both.
func replay(q spec.Queue[int], warm int, steps []step) error {
	if err := warmUp(q, warm); err != nil {
		return err
	}
	// The model holds the very pointers pushed, so that comparing pops
	// checks identity (zero copy) as well as value and order.
	var ref model.FIFO[*int]
	for n, st := range steps {
		if st.push {
			v := st.value
			q.Push(&v)
			ref.Push(&v)
		} else {
			got := q.Pop()
			want, _ := ref.Pop()
			// The bug: a lost, duplicated or reordered item; a copy
			// handed back instead of the pushed pointer; nil from a
			// non-empty queue, or an item from an empty one.
			if got != want {
				return fmt.Errorf("step %d (client %d pop): got %s, want %s", n, st.client, describe(got), describe(want))
			}
		}
		// The bug: head or tail out of step with the items, for example an
		// index given back twice by a pop on the empty queue, or not at
		// all. Nothing runs concurrently, so Len must be exact.
		if got, want := q.Len(), ref.Len(); got != want {
			return fmt.Errorf("after step %d (client %d %s): Len = %d, want %d", n, st.client, opName(st), got, want)
		}
	}
	for k := 0; ; k++ {
		got := q.Pop()
		want, ok := ref.Pop()
		// The bug: items left in the queue, missing from it, or coming
		// out of it in the wrong order once the program is over.
		if got != want {
			return fmt.Errorf("drain pop %d: got %s, want %s", k, describe(got), describe(want))
		}
		if !ok {
			break
		}
	}
	// The bug: a drained queue that still counts items, or that makes one
	// up on the next pop.
	if n := q.Len(); n != 0 {
		return fmt.Errorf("after the drain: Len = %d, want 0", n)
	}
	if p := q.Pop(); p != nil {
		return fmt.Errorf("after the drain: Pop = %s, want nil", describe(p))
	}
	return nil
}

// checkSequential replays in on fresh queues from newQueue in two orders:
// the bytes' order and client by client.
func checkSequential(newQueue func() spec.Queue[int], in input) error {
	if err := replay(newQueue(), in.warm, in.steps); err != nil {
		return fmt.Errorf("sequential replay in byte order: %w", err)
	}
	if err := replay(newQueue(), in.warm, in.byClient()); err != nil {
		return fmt.Errorf("sequential replay client by client: %w", err)
	}
	return nil
}

// program builds the linearize program of in: client c runs its steps in
// order, as queuetest.Ops steps.
func program(in input) linearize.Program {
	ops := queuetest.Ops()
	push, pop := opIndex(ops, "push"), opIndex(ops, "pop")
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{} // a client may have no steps
	}
	for _, st := range in.steps {
		s := linearize.Step{Op: pop, Input: model.QueueInput{Op: model.QueuePop}}
		if st.push {
			s = linearize.Step{Op: push, Input: model.QueueInput{Op: model.QueuePush, Value: st.value}}
		}
		p[st.client] = append(p[st.client], s)
	}
	return p
}

// checkConcurrent runs in's program once, one goroutine per client, on a
// fresh warmed-up queue from newQueue, and checks the recorded history,
// with its final quiescent Len and drain, for linearizability.
func checkConcurrent(newQueue func() spec.Queue[int], in input, chaosSeed uint64) error {
	sc := queuetest.Scenario("queue", func() spec.Queue[int] {
		q := newQueue()
		if err := warmUp(q, in.warm); err != nil {
			// checkSequential has already passed the same warm-up on a
			// queue of its own; failing here means the queue is not even
			// deterministic when used sequentially.
			panic("fuzz: warm-up before the concurrent run: " + err.Error())
		}
		return q
	})
	p := program(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history of push and pop, followed by a
	// quiescent Len and drain, that no sequential FIFO could produce (a
	// lost, duplicated or reordered item, a wrong empty result, an inexact
	// Len); a call that never returns; a panic inside the queue.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run (warm-up %d) failed: %w", in.warm, sc.Failure(p, res, chaosSeed, 0))
}

// check is the whole test of one input: sequential, then concurrent.
func check(newQueue func() spec.Queue[int], data []byte) error {
	in := decode(data)
	if err := checkSequential(newQueue, in); err != nil {
		return err
	}
	return checkConcurrent(newQueue, in, chaosSeed(data))
}

// chaosSeed derives the seed of impl/chaos (in -tags chaos builds) from
// the input, so that an input replays its perturbation too.
func chaosSeed(data []byte) uint64 {
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64() | 1
}

func FuzzQueue(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 1})                           // one client: push, push, pop, pop, pop on empty
	f.Add([]byte{3, 0, 0, 2, 4, 6, 1, 3, 5, 7, 1, 3})            // four clients, all push, then all pop
	f.Add([]byte{1, 127, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3})    // across the first segment boundary
	f.Add([]byte{2, 253, 0, 0, 0, 0, 3, 3, 3, 3, 5, 5, 4, 2, 1}) // across the second
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := check(queuetest.NewQueue, data); err != nil {
			t.Fatalf("input %q: %v", data, err)
		}
	})
}

// opIndex returns the index of the operation called name in ops.
func opIndex[S, In, Out any](ops []linearize.Op[S, In, Out], name string) int {
	for i, op := range ops {
		if op.Name == name {
			return i
		}
	}
	panic("fuzz: the campaign's operations include no " + name)
}

func opName(st step) string {
	if st.push {
		return fmt.Sprintf("push(%d)", st.value)
	}
	return "pop"
}

// describe renders a popped pointer without trusting it: nil, or the value
// and address.
func describe(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%d (%p)", *p, p)
}
