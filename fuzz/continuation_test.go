package fuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/model"
)

// The continuations' input format (see doc.go): byte 0 picks the number of
// programs (1 to contMaxPrograms), byte 1 the instructions of each (1 to
// contMaxInstrs), and every further byte is one choice of
// conttest.GenRound, taken modulo the number of options; past the end
// of the input every choice is 0 (a choice between one option takes no
// byte). Every byte string is a valid input, and every round decoded can
// run to its end.
const (
	contMaxPrograms = 4
	contMaxInstrs   = 8
)

// decodeContinuations turns data into a round, deterministically.
func decodeContinuations(data []byte) conttest.Round {
	next := func(n int) int {
		if n <= 1 || len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b) % n
	}
	programs := 1 + next(contMaxPrograms)
	instrs := 1 + next(contMaxInstrs)
	return conttest.GenRound(next, programs, instrs)
}

// checkContinuations runs round r with dispatcher d (nil: pool.Waiter)
// twice:
//
//   - sequentially: each program alone on a fresh topology, so that a
//     failure names one program and the runs are as deterministic as pools
//     allow; this part is what coverage guidance feeds on;
//   - concurrently: every program at once, in the same mailboxes.
//
// Both are checked by conttest.RunRound against model.ContTrace.
func checkContinuations(r conttest.Round, d func() pool.Dispatcher, deadline time.Duration, chaosSeed uint64) error {
	opts := func() conttest.Options {
		o := conttest.Options{Deadline: deadline, ChaosSeed: chaosSeed}
		if d != nil {
			o.Dispatcher = d()
		}
		return o
	}
	for i, p := range r.Programs {
		alone := conttest.Round{Pools: r.Pools, Programs: []conttest.Program{p}}
		// The bug: any step out of place, out of order, twice or never in
		// a program that runs alone (see conttest.RunRound's checks).
		if res := conttest.RunRound(alone, opts()); res.Failed() {
			return fmt.Errorf("program %d alone: %s\n%s", i, describeCont(res), alone)
		}
	}
	// The bug: the same, only when programs share the pools and mailboxes:
	// a continuation delivered to the wrong runner, two runners at once,
	// a caller resumed by another program's remote part.
	if res := conttest.RunRound(r, opts()); res.Failed() {
		return fmt.Errorf("all programs at once: %s\n%s", describeCont(res), r)
	}
	return nil
}

func describeCont(res conttest.Result) string {
	var b strings.Builder
	if res.Lost {
		b.WriteString("lost continuation; ")
	}
	b.WriteString(strings.Join(res.Problems, "; "))
	if res.Errors != "" {
		b.WriteString("; workers' errors: " + res.Errors)
	}
	return b.String()
}

func FuzzContinuations(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	for _, in := range contSelfCheckInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decodeContinuations(data)
		if err := checkContinuations(r, nil, 0, chaosSeed(data)); err != nil {
			t.Fatalf("input %q:\n%v", data, err)
		}
	})
}

// contSelfCheckInputs are inputs whose programs move between pools and
// come back, call remote parts and spawn novel threads: seeds of the
// corpus, and the inputs on which the self-check below requires each
// broken dispatcher to be caught.
var contSelfCheckInputs = [][]byte{
	// 2 programs of 6: gotos there and back, a comefrom, a novel thread.
	[]byte("\x01\x05\x00\x01\x00\x01\x00\x00\x04\x00\x03\x04\x01\x05\x04\x01\x06\x00\x00\x07\x00\x00\x08\x00\x00\x01\x04\x00\x00\x05\x00"),
	// 4 programs of 8, bounded mailboxes, everything.
	[]byte("\x03\x07\x01\x01\x00\x00\x02\x00\x00\x00\x01\x01\x01\x00\x04\x00\x05\x01\x06\x01\x00\x07\x00\x02\x08\x00\x01\x04\x01\x05\x00\x06\x03\x01\x08\x02\x02\x04\x05\x09\x01\x02\x00\x04\x00\x05\x00\x07\x01\x00\x03\x04\x00\x06\x00"),
}

// offloadDispatcher is a broken dispatcher: it hands every continuation
// it receives to a runtime spawned for it, instead of running it on its
// worker, and waits for that runtime to end. Every step then runs on no
// pool.
func offloadDispatcher(box *pool.Box) (*cont.C, func() []*cont.C) {
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		c, err := box.RecvContext(ctx)
		switch {
		case err == nil:
		case errors.Is(err, mailbox.ErrUnreadable):
			return nil
		default:
			return self.Next()
		}
		r, err := rt.Spawn(c)
		if err != nil {
			panic(fmt.Sprintf("fuzz: spawning a runtime: %v", err))
		}
		if r.JoinContext(ctx) != nil && ctx.Err() != nil {
			r.Halt()
			r.Join()
		}
		return self.Next()
	})
	return w, func() []*cont.C { return nil }
}

// dropDispatcher is a broken dispatcher: a waiter that drops every
// continuation arriving at a pool where it ran before.
func dropDispatcher() pool.Dispatcher {
	type key struct {
		box *pool.Box
		c   weak.Pointer[cont.C] // weak: a dropped continuation can be collected
	}
	var mu = make(chan struct{}, 1)
	seen := map[key]bool{}
	return func(box *pool.Box) (*cont.C, func() []*cont.C) {
		var cur *cont.C
		w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
			if cur == nil {
				c, err := box.RecvContext(ctx)
				switch {
				case err == nil:
				case errors.Is(err, mailbox.ErrUnreadable):
					return nil
				default:
					return self.Next()
				}
				mu <- struct{}{}
				k := key{box, weak.Make(c)}
				again := seen[k]
				seen[k] = true
				<-mu
				if again {
					return self.Next() // dropped
				}
				cur = c
			}
			if cur.Step(ctx) {
				cur = nil
			}
			return self.Next()
		})
		return w, func() []*cont.C { return []*cont.C{cur} }
	}
}

// The checks of FuzzContinuations must be able to fail: each broken
// dispatcher must be caught on one of the self-check inputs.
func TestContinuationChecksCatchBrokenDispatchers(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		bug  string
		d    func() pool.Dispatcher
		want string // in the failure
	}{
		// Steps on no pool: the trace check.
		{"offload", func() pool.Dispatcher { return offloadDispatcher }, "on novel, want"},
		// A continuation lost: the deadline.
		{"drop-returning", dropDispatcher, "lost"},
	} {
		t.Run(c.bug, func(t *testing.T) {
			for _, in := range contSelfCheckInputs {
				err := checkContinuations(decodeContinuations(in), c.d, time.Second, chaosSeed(in))
				if err != nil && strings.Contains(err.Error(), c.want) {
					t.Logf("caught on %q: %.300s", in, err)
					return
				}
			}
			t.Fatalf("the checks passed a dispatcher with bug %s on every self-check input", c.bug)
		})
	}
}

// The bug: a decoder that makes rounds beyond the caps (so that one input
// no longer runs in milliseconds), or that is not deterministic (so that a
// failing input does not replay).
func TestDecodeContinuations(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	r := decodeContinuations(data)
	if len(r.Programs) < 1 || len(r.Programs) > contMaxPrograms || r.Ops() > contMaxPrograms*contMaxInstrs {
		t.Fatalf("%d programs, %d ops: beyond the caps", len(r.Programs), r.Ops())
	}
	if decodeContinuations(data).String() != r.String() {
		t.Fatalf("one input, two rounds")
	}
	if r := decodeContinuations(nil); len(r.Programs) != 1 || len(r.Programs[0].Body) != 1 || r.Programs[0].Body[0].Kind != model.ContWork {
		t.Fatalf("empty input decoded to %s", r)
	}
	for _, in := range contSelfCheckInputs {
		t.Logf("%q:\n%s", in, decodeContinuations(in))
	}
}
