package fuzz

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The operations of a decoded cubby program: the writer's, then the
// reader's, then the two nil-function calls (sequential only).
type cubStep uint8

const (
	cubStore cubStep = iota
	cubUpdate
	cubLoad
	cubTryLoad
	cubView
	cubUpdateNil
	cubViewNil
	cubSteps
)

var cubStepNames = [cubSteps]string{"store", "update", "load", "tryLoad", "view", "updateNil", "viewNil"}

// A cubInput is a decoded cubby fuzz input: steps in byte order, each
// with a flag, fresh, that a TryLoad in the sequential replay passes the
// version 0 (a reader that has seen nothing) instead of its last.
type cubInput struct {
	steps []cubStep
	fresh []bool
}

// decodeCubby turns data into a program, deterministically; every byte
// string is a valid input. Each byte, up to maxSteps, is one step: its
// low 3 bits the operation (0 to 6; 7 is a load), bit 3 the fresh flag.
// The writer's steps go to client 0, the reader's to client 1; a write's
// value is its step number, from 1.
func decodeCubby(data []byte) cubInput {
	var in cubInput
	if len(data) > maxSteps {
		data = data[:maxSteps]
	}
	for _, b := range data {
		st := cubStep(b & 7)
		if st >= cubSteps {
			st = cubLoad
		}
		in.steps = append(in.steps, st)
		in.fresh = append(in.fresh, b&8 != 0)
	}
	return in
}

func pairOf(v uint64) cubbytest.Pair { return cubbytest.Pair{A: v, B: v} }

// cubStepOn runs step i of in on c and on ref, and returns how they
// differ; seen is the reader's last version, which it updates.
func cubStepOn(c spec.Cubby[cubbytest.Pair], ref *model.CubbyRef[cubbytest.Pair], in cubInput, i int, seen *uint64) string {
	v := uint64(i + 1)
	switch in.steps[i] {
	case cubStore:
		c.Store(pairOf(v))
		ref.Store(pairOf(v))
	case cubUpdate:
		_ = c.Update(func(p *cubbytest.Pair) { *p = pairOf(v) })
		ref.Update(func(p *cubbytest.Pair) { *p = pairOf(v) })
	case cubLoad, cubView:
		var got cubbytest.Pair
		var n uint64
		if in.steps[i] == cubView {
			n, _ = c.View(func(p *cubbytest.Pair) { got = *p })
		} else {
			got, n = c.Load()
		}
		want, wn := ref.Load()
		// The bug: a value or a version out of step with the writes.
		if got != want || n != wn {
			return fmt.Sprintf("%v at version %d, want %v at %d", got, n, want, wn)
		}
		*seen = n
	case cubTryLoad:
		s := *seen
		if in.fresh[i] {
			s = 0
		}
		got, n, ok := c.TryLoad(s)
		want, wn, wok := ref.TryLoad(s)
		// The bug: news missed (a write not counted), or none made up.
		if got != want || n != wn || ok != wok {
			return fmt.Sprintf("TryLoad(%d) = %v, %d, %v; want %v, %d, %v", s, got, n, ok, want, wn, wok)
		}
		if ok {
			*seen = n
		}
	case cubUpdateNil, cubViewNil:
		var err error
		if in.steps[i] == cubUpdateNil {
			err = c.Update(nil)
		} else {
			_, err = c.View(nil)
		}
		// The bug: a nil function taken, or counted as a write.
		if _, n := c.Load(); err == nil || n != ref.N {
			return fmt.Sprintf("err %v, then version %d, want an error and %d", err, n, ref.N)
		}
	}
	return ""
}

// cubStepLimit is how long one sequential step may take: no call of a
// correct cubby waits when the other party is not inside.
const cubStepLimit = 2 * time.Second

// cubReplay runs in's steps one at a time, in byte order, on a fresh
// cubby of newCubby and on model.CubbyRef, requiring the same result from
// every call. Nothing runs beside a step, so a step that does not return
// within limit (cubStepLimit a step, in the target) waits for a party
// that is not there: the replay
// reports it, and lets the cubby's waiters go (Unblock) so that its
// goroutine exits.
func cubReplay(newCubby func() spec.Cubby[cubbytest.Pair], in cubInput, limit time.Duration) error {
	c, ref := newCubby(), &model.CubbyRef[cubbytest.Pair]{}
	var at atomic.Int64
	done := make(chan string, 1)
	go func() {
		seen := uint64(0)
		for i := range in.steps {
			at.Store(int64(i))
			if why := cubStepOn(c, ref, in, i, &seen); why != "" {
				done <- fmt.Sprintf("step %d (%s): %s", i, cubStepNames[in.steps[i]], why)
				return
			}
		}
		done <- ""
	}()
	select {
	case why := <-done:
		if why != "" {
			return fmt.Errorf("%s", why)
		}
		return nil
	case <-time.After(limit):
		i := at.Load()
		if u, ok := c.(interface{ Unblock() }); ok {
			u.Unblock()
			<-done
		} // else the step's goroutine stays behind, and goleak reports it too
		return fmt.Errorf("step %d (%s) did not return: it waits for a party that is not there", i, cubStepNames[in.steps[i]])
	}
}

// cubProgram builds the linearize program of in: the writer's steps on
// client 0, the reader's on client 1, in order (the nil-function calls
// are the sequential replay's).
func cubProgram(in cubInput) linearize.Program {
	ops := cubbytest.Ops()
	p := linearize.Program{{}, {}}
	for i, st := range in.steps {
		if st >= cubUpdateNil {
			continue
		}
		op := opIndex(ops, cubStepNames[st])
		input := model.CubbyInput{Op: model.CubbyOp(st)}
		client := cubbytest.Reader
		if st == cubStore || st == cubUpdate {
			input.V, client = uint64(i+1), cubbytest.Writer
		}
		p[client] = append(p[client], linearize.Step{Op: op, Input: input})
	}
	return p
}

// cubConcurrent runs in's program once, the writer and the reader at
// once, on a fresh cubby of newCubby, and checks the history and the
// liveness check (Stuck).
func cubConcurrent(newCubby func() spec.Cubby[cubbytest.Pair], in cubInput, chaosSeed uint64) error {
	sc := cubbytest.Scenario("cubby", newCubby)
	sc.StuckPatience = 50 * time.Millisecond
	p := cubProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: a torn or stale read, a version out of step, both parties
	// stuck, a call that never returns, a panic.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, chaosSeed, 0))
}

// checkCubby is the whole test of one input: sequential, then concurrent.
func checkCubby(newCubby func() spec.Cubby[cubbytest.Pair], data []byte) error {
	in := decodeCubby(data)
	if err := cubReplay(newCubby, in, cubStepLimit*time.Duration(1+len(in.steps))); err != nil {
		return fmt.Errorf("sequential replay: %w", err)
	}
	return cubConcurrent(newCubby, in, chaosSeed(data))
}

func FuzzCubby(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	f.Add([]byte{2, 3, 0, 3, 3, 1, 4, 11})            // load, try, store, try, try, update, view, fresh try
	f.Add([]byte{0, 2, 0, 0, 3, 1, 3, 4})             // writes and reads interleaved
	f.Add([]byte{5, 6, 2, 0, 5, 3})                   // nil functions around a store
	f.Add([]byte{0, 1, 0, 1, 0, 2, 3, 4, 2, 3, 4, 3}) // writes then reads
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkCubby(cubbytest.NewCubby, data); err != nil {
			t.Fatalf("input %q: %v", data, err)
		}
	})
}

// The checks of FuzzCubby must be able to fail: each known-bad cubby that
// the sequential replay can tell is handed an input that exposes it, and
// the failure is required. A cubby without the flags makes a Store with
// no reader wait for good; an Update not counted makes the next TryLoad
// miss it. (The bugs that need both parties to meet in a few
// instructions the concurrent part finds only by chance: the controlled
// scheduler's tests in impl/cubby find them every time.)
func TestChecksCatchBrokenCubbies(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		bug        cubbytest.Bug
		data, want string
	}{
		{cubbytest.NoWant, "\x00", "step 0 (store) did not return"},
		{cubbytest.UpdateKeepsVersion, "\x01\x03", "step 1 (tryLoad): TryLoad(0)"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			newCubby := func() spec.Cubby[cubbytest.Pair] { return cubbytest.Peterson(c.bug) }
			err := cubReplay(newCubby, decodeCubby([]byte(c.data)), 200*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the sequential replay on input %q: %v; want a failure that says %q", c.data, err, c.want)
			}
			t.Logf("caught: %v", err)
		})
	}
	// The control: the same inputs pass on Peterson with no bug and on
	// impl/cubby.
	for _, data := range []string{"\x00", "\x01\x03"} {
		for name, newCubby := range map[string]func() spec.Cubby[cubbytest.Pair]{
			"peterson":   func() spec.Cubby[cubbytest.Pair] { return cubbytest.Peterson(cubbytest.Correct) },
			"impl/cubby": cubbytest.NewCubby,
		} {
			if err := checkCubby(newCubby, []byte(data)); err != nil {
				t.Errorf("%s failed input %q: %v", name, data, err)
			}
		}
	}
}
