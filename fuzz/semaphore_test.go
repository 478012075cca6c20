package fuzz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/semaphore/semaphoretest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The operations of a decoded semaphore program.
type semStep uint8

const (
	semAcquire semStep = iota // Acquire with no time-out
	semAcquireTimeout
	semTry
	semRelease
	semAvailable
	semDo      // Do, whose f checks that it holds a permit (sequential only)
	semDoPanic // Do, whose f panics (sequential only)
	semSteps
)

var semStepNames = [semSteps]string{"acquire", "acquireTimeout", "tryAcquire", "release", "available", "do", "doPanic"}

// A semInput is a decoded semaphore fuzz input: a capacity, clients, and
// steps in byte order, each with its client.
type semInput struct {
	n, clients int
	steps      []semStep
	client     []int
}

// decodeSemaphore turns data into a program, deterministically; every
// byte string is a valid input. Byte 0 picks the capacity (1 to 3, low
// bits) and the clients (1 to 4); each byte after it, up to maxSteps, is
// one step: its low 3 bits the operation (0 to 6; 7 is an acquire), the
// rest the client.
func decodeSemaphore(data []byte) semInput {
	in := semInput{n: 1, clients: 1}
	if len(data) > 0 {
		in.n = 1 + int(data[0]&3)%3
		in.clients = 1 + int(data[0]>>2)%maxClients
		data = data[1:]
	}
	if len(data) > maxSteps {
		data = data[:maxSteps]
	}
	for _, b := range data {
		st := semStep(b & 7)
		if st >= semSteps {
			st = semAcquire
		}
		in.steps = append(in.steps, st)
		in.client = append(in.client, int(b>>3)%in.clients)
	}
	return in
}

// semReplay runs in's steps one at a time, in byte order, on a fresh
// semaphore of newSem and on model.SemaphoreRef, requiring the same result
// from every call: an Acquire that would wait runs with a context already
// done, and must be cut short; a Release with every permit free must
// panic and change nothing.
func semReplay(newSem func(int) spec.Semaphore, in semInput) error {
	s, ref := newSem(in.n), model.NewSemaphoreRef(in.n)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i, st := range in.steps {
		where := func(f string, args ...any) error {
			return fmt.Errorf("step %d (%s, capacity %d, %d free before): %s", i, semStepNames[st], in.n, ref.Free, fmt.Sprintf(f, args...))
		}
		ctx := context.Background()
		if ref.Free == 0 {
			ctx = done
		}
		switch st {
		case semAcquire, semAcquireTimeout:
			err := s.Acquire(ctx)
			// The bug: a permit taken that was not there, or refused
			// though free (also with a context already done), or an
			// Acquire cut short with an error other than its context's.
			if want := ref.TryAcquire(); (err == nil) != want || (err != nil && err != context.Canceled) {
				return where("Acquire = %v, want taken %v", err, want)
			}
		case semTry:
			// The bug: TryAcquire's answer not the count's.
			if got, want := s.TryAcquire(), ref.TryAcquire(); got != want {
				return where("TryAcquire = %v, want %v", got, want)
			}
		case semRelease:
			want := ref.Release()
			panicked := release(s)
			// The bug: a Release beyond the capacity taken silently (the
			// count past n), or a legitimate one refused.
			if panicked == want {
				return where("Release panicked %v, want %v", panicked, !want)
			}
		case semAvailable:
		case semDo, semDoPanic:
			inside := -1
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil && r != "f panics" {
						panic(r)
					}
				}()
				return s.Do(ctx, func() {
					inside = s.Available()
					if st == semDoPanic {
						panic("f panics")
					}
				})
			}()
			free := ref.Free
			// The bug: Do running f without a permit, or refusing a free
			// one, or (below) keeping it after f returned or panicked.
			if ran := free > 0; (inside >= 0) != ran || (ran && inside != free-1) || (!ran && err == nil) {
				return where("Do: f ran %v seeing %d free, err %v; want it to run %v seeing %d", inside >= 0, inside, err, ran, free-1)
			}
		}
		// The bug: a count out of step with the calls (a permit lost or
		// made by the step). Nothing runs concurrently: it must be exact.
		if got := s.Available(); got != ref.Free {
			return where("then Available = %d, want %d", got, ref.Free)
		}
	}
	return nil
}

// release calls s.Release and reports whether it panicked.
func release(s spec.Semaphore) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	s.Release()
	return false
}

// semProgram builds the linearize program of in: client c runs its steps
// in order, as semaphoretest.Ops steps (Do, not a single linearizable
// call, is left to the sequential replay).
func semProgram(in semInput) linearize.Program {
	ops := semaphoretest.Ops()
	index := map[semStep]int{}
	for _, st := range []semStep{semAcquire, semAcquireTimeout, semTry, semRelease, semAvailable} {
		index[st] = opIndex(ops, semStepNames[st])
	}
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{}
	}
	for i, st := range in.steps {
		op, ok := index[st]
		if !ok {
			continue
		}
		var input model.SemaphoreInput
		if ops[op].Input != nil {
			input = ops[op].Input(nil)
		}
		p[in.client[i]] = append(p[in.client[i]], linearize.Step{Op: op, Input: input})
	}
	return p
}

// semConcurrent runs in's program once, one goroutine per client, on a
// fresh semaphore of newSem, and checks the history, the liveness check
// (Stuck) and the final count.
// quiet is the stillness a round waits for before its Release (see
// semQuiet).
func semConcurrent(newSem func(int) spec.Semaphore, in semInput, chaosSeed uint64, quiet time.Duration) error {
	sc := semaphoretest.Scenario("semaphore", in.n, newSem)
	sc.Quiet = quiet
	sc.StuckPatience = 50 * time.Millisecond
	p := semProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history that no sequential semaphore could
	// produce (a permit made or lost), an Acquire asleep beside a free
	// permit or behind a lost one, a call that never returns, a panic.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, chaosSeed, 0))
}

// semQuiet is the stillness a fuzzed round waits for before its Release:
// longer than an acquire's time-out (2ms), so that a time-out behind a
// held permit comes first, before the Release hands it that permit. The
// self-check waits longer, so that a loaded machine's late time-out does
// not pass a known-bad.
const semQuiet = 5 * time.Millisecond

// checkSemaphore is the whole test of one input: sequential, then
// concurrent.
func checkSemaphore(newSem func(int) spec.Semaphore, data []byte) error {
	in := decodeSemaphore(data)
	if err := semReplay(newSem, in); err != nil {
		return fmt.Errorf("sequential replay: %w", err)
	}
	return semConcurrent(newSem, in, chaosSeed(data), semQuiet)
}

func FuzzSemaphore(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 3, 3, 3, 4})                       // capacity 1: acquire, wait, release, release, release (beyond), available
	f.Add([]byte{2, 2, 2, 2, 2, 3, 3, 3, 3, 4})              // capacity 3: four tries, four releases
	f.Add([]byte{0, 5, 6, 4, 2, 5, 3, 4})                    // capacity 1: do, do that panics, try, do without a permit
	f.Add([]byte{8, 0, 8, 16, 3, 11, 19, 1, 9, 17, 3, 11})   // three clients on one permit
	f.Add([]byte{13, 2, 10, 18, 26, 0, 8, 16, 24, 3, 11, 4}) // capacity 2, four clients
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range semaphoretest.Semaphores {
			if err := checkSemaphore(s.New, data); err != nil {
				t.Fatalf("impl/semaphore (%s), input %q: %v", s.Name, data, err)
			}
		}
	})
}

// The checks of FuzzSemaphore must be able to fail: each known-bad
// semaphore (semaphoretest.Locked) is handed an input that exposes it, and
// the failure is required, from the check its Bug's comment names. The
// concurrent inputs have the round's Release meet two sleepers or more
// whichever client runs first, or one client sleep behind its own
// permit: their failures do not depend on Go's scheduler.
func TestChecksCatchBrokenSemaphores(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const (
		// capacity 1, 3 clients: each acquires, client 0 twice.
		threeSleep = "\x08\x00\x00\x08\x10"
		// capacity 1, 1 client: acquire; acquire with a time-out,
		// which times out behind its own permit; acquire, which sleeps
		// behind the one that timed out.
		timesOut = "\x00\x00\x01\x00"
	)
	for _, c := range []struct {
		bug        semaphoretest.Bug
		data, want string
		sequential bool
	}{
		{semaphoretest.OverRelease, "\x00\x03", "Release panicked false", true},
		{semaphoretest.DoKeeps, "\x00\x06", "then Available = 0, want 1", true},
		{semaphoretest.WakesNone, threeSleep, "permits free", false},
		{semaphoretest.WakesTwo, threeSleep, "Illegal", false},
		{semaphoretest.CutShortLeaks, timesOut, "permits lost", false},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			newSem := func(n int) spec.Semaphore { return semaphoretest.Locked(n, c.bug) }
			in := decodeSemaphore([]byte(c.data))
			err := semReplay(newSem, in)
			if c.sequential != (err != nil) {
				t.Fatalf("the sequential replay on input %q: %v; want a failure %v", c.data, err, c.sequential)
			}
			if err == nil {
				err = semConcurrent(newSem, in, chaosSeed([]byte(c.data)), 30*time.Millisecond)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the checks on input %q: %v; want a failure that says %q", c.data, err, c.want)
			}
			line, _, _ := strings.Cut(err.Error(), "\n")
			t.Logf("caught: %s", line)
		})
	}
	// The control: the same inputs pass on Locked with no bug and on
	// impl/semaphore.
	for _, data := range []string{threeSleep, timesOut, "\x00\x03", "\x00\x06"} {
		for name, newSem := range map[string]func(int) spec.Semaphore{
			"locked":                 func(n int) spec.Semaphore { return semaphoretest.Locked(n, semaphoretest.Correct) },
			"impl/semaphore":         semaphoretest.NewSemaphore,
			"impl/semaphore barging": semaphoretest.NewBargingSemaphore,
		} {
			if err := checkSemaphore(newSem, []byte(data)); err != nil {
				t.Errorf("%s failed input %q: %v", name, data, err)
			}
		}
	}
}
