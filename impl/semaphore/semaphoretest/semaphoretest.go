// Package semaphoretest checks implementations of spec.Semaphore, such as
// impl/semaphore's: the linearizability scenario, with its lost-wake-up
// check, that `insideout verify`, the tests, the fuzz target and the
// stress suite run, and the known-bad semaphores that every check must be
// shown to catch.
package semaphoretest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/impl/semaphore"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Held is the system under test of the scenario: a semaphore of capacity
// N, and how many of its permits the scenario's clients hold. A client
// releases only a permit that some client holds (release takes one from
// the count first, or records a skipped release), so that a correct
// semaphore never sees more Releases than Acquires.
type Held struct {
	Sem  spec.Semaphore
	N    int
	held seam.Int64
}

// NewHeld wraps sem, of capacity n, with nothing held.
func NewHeld(sem spec.Semaphore, n int) *Held { return &Held{Sem: sem, N: n} }

// Holding returns how many permits the clients hold.
func (h *Held) Holding() int { return int(h.held.Load()) }

// took counts a permit a client took.
func (h *Held) took() { h.held.Add(1) }

// Release gives back a permit some client holds, and reports whether
// there was one. A Release that panics (a semaphore that miscounted and
// believes every permit free) is reported as done, for the model to
// judge: the count the model then expects is one more than the
// semaphore's, which the history shows.
func (h *Held) Release() bool {
	if h.held.Add(-1) < 0 {
		h.held.Add(1)
		return false
	}
	defer func() { _ = recover() }()
	h.Sem.Release()
	return true
}

// ctxTimeout is how long an acquire with a time-out waits (virtual under
// the controlled scheduler: it ends only once every goroutine is blocked).
const ctxTimeout = 2 * time.Millisecond

// Acquire runs one Acquire on h, with a time-out if timeout, and returns
// the model's record of it.
func Acquire(h *Held, timeout bool) model.SemaphoreOutput {
	ctx := context.Background()
	if timeout {
		c, cancel := seam.WithTimeout(ctx, ctxTimeout)
		defer cancel()
		ctx = c
	}
	switch err := h.Sem.Acquire(ctx); {
	case err == nil:
		h.took()
		return model.SemaphoreOutput{Ok: true}
	case timeout && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		return model.SemaphoreOutput{Canceled: true}
	default:
		panic(fmt.Sprintf("semaphoretest: Acquire: unexpected error %v", err))
	}
}

// TryAcquire runs one TryAcquire on h.
func TryAcquire(h *Held) model.SemaphoreOutput {
	ok := h.Sem.TryAcquire()
	if ok {
		h.took()
	}
	return model.SemaphoreOutput{Ok: ok}
}

func in(op model.SemaphoreOp, timeout bool) func(*linearize.Gen) model.SemaphoreInput {
	return func(*linearize.Gen) model.SemaphoreInput { return model.SemaphoreInput{Op: op, Timeout: timeout} }
}

// Ops are the operations of the scenario: acquire with no time-out (Ops[0],
// which only a Release ends), acquire with a time-out, tryAcquire, release
// and available. TryAcquire and available are LockFree, as impl/semaphore's
// are; release is not (it takes the waiters' mutex to hand its permit to a
// sleeper). Do, an Acquire and a Release with a function between, is not a
// single linearizable call: the tests check it on its own.
func Ops() []linearize.Op[*Held, model.SemaphoreInput, model.SemaphoreOutput] {
	return []linearize.Op[*Held, model.SemaphoreInput, model.SemaphoreOutput]{
		{Name: "acquire", Weight: 5, Input: in(model.SemAcquire, false),
			Run: func(h *Held, _ model.SemaphoreInput) model.SemaphoreOutput { return Acquire(h, false) }},
		{Name: "acquireTimeout", Weight: 3, Input: in(model.SemAcquire, true),
			Run: func(h *Held, _ model.SemaphoreInput) model.SemaphoreOutput { return Acquire(h, true) }},
		{Name: "tryAcquire", Weight: 3, LockFree: true, Input: in(model.SemTryAcquire, false),
			Run: func(h *Held, _ model.SemaphoreInput) model.SemaphoreOutput { return TryAcquire(h) }},
		{Name: "release", Weight: 8, Input: in(model.SemRelease, false),
			Run: func(h *Held, _ model.SemaphoreInput) model.SemaphoreOutput {
				return model.SemaphoreOutput{Ok: h.Release()}
			}},
		{Name: "available", Weight: 1, LockFree: true, Input: in(model.SemAvailable, false),
			Run: func(h *Held, _ model.SemaphoreInput) model.SemaphoreOutput {
				return model.SemaphoreOutput{N: h.Sem.Available()}
			}},
	}
}

// Stuck reports an Acquire asleep while a permit is free: the lost
// wake-up (a waiter that slept through the Release meant for it, or a
// Release that woke nobody); or asleep while permits are lost, neither
// free nor held by a client (a permit handed to a waiter that had gone).
// It is asked only while every client is inside a call and none returns,
// so that a permit on its way (a Release between the count and the
// semaphore, a waiter woken and not yet back) is not lost: the harness
// waits for Stuck's answer to persist before it reports it.
func Stuck(h *Held, inProgress []model.SemaphoreInput) string {
	waiting := 0
	for _, in := range inProgress {
		if in.Op == model.SemAcquire {
			waiting++
		}
	}
	if waiting == 0 {
		return ""
	}
	free, held := h.Sem.Available(), h.Holding()
	switch {
	case free > 0:
		return fmt.Sprintf("%d acquire(s) asleep with %d of %d permits free", waiting, free, h.N)
	case free+held < h.N:
		return fmt.Sprintf("%d acquire(s) asleep with %d of %d permits lost (%d free, %d held)", waiting, h.N-free-held, h.N, free, held)
	}
	return ""
}

// Release ends the waits of a round: it gives back every permit the
// clients hold, recording each release; each wakes one waiter.
//
// With nothing held, no Release can end a wait: the semaphore under test
// lost a permit or a wake-up, which Stuck has reported, and Release wakes
// its sleepers with Unblock so that the round ends and the report comes.
func Release(h *Held, c linearize.Caller[model.SemaphoreInput, model.SemaphoreOutput]) {
	if h.Holding() == 0 {
		Unblock(h)
	}
	for h.Holding() > 0 {
		c.Do(model.SemaphoreInput{Op: model.SemRelease}, func() model.SemaphoreOutput {
			return model.SemaphoreOutput{Ok: h.Release()}
		})
	}
}

// Finally records, once everything has returned, the free permits: every
// permit not held must be free again, none lost and none made.
func Finally(h *Held, c linearize.Caller[model.SemaphoreInput, model.SemaphoreOutput]) {
	c.Do(model.SemaphoreInput{Op: model.SemAvailable}, func() model.SemaphoreOutput {
		return model.SemaphoreOutput{N: h.Sem.Available()}
	})
}

// Unblock wakes, after a hang is reported, the waiters of a known-bad
// semaphore that has them sleep for good, so that their goroutines exit.
func Unblock(h *Held) {
	if u, ok := h.Sem.(interface{ Unblock() }); ok {
		u.Unblock()
	}
}

// Scenario returns the linearizability scenario for any spec.Semaphore
// that newSem builds with capacity n: clients acquire (with and without a
// time-out), try, release what they hold and look at the count, at once;
// a round ends with Release (a lost-wake-up check, Stuck, before it) and
// Finally. Set Clients, OpsPerClient, Rounds and Seed to taste.
func Scenario(name string, n int, newSem func(n int) spec.Semaphore) linearize.Scenario[*Held, model.SemaphoreInput, model.SemaphoreOutput] {
	return linearize.Scenario[*Held, model.SemaphoreInput, model.SemaphoreOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.SemaphoreInput, model.SemaphoreOutput](model.Semaphore(n)),
		New:          func() *Held { return NewHeld(newSem(n), n) },
		Ops:          Ops(),
		Clients:      4,
		OpsPerClient: 6,
		Release:      Release,
		Stuck:        Stuck,
		Finally:      Finally,
		Unblock:      Unblock,
	}
}

// NewSemaphore builds the semaphore of impl/semaphore, of capacity n.
func NewSemaphore(n int) spec.Semaphore {
	s, err := semaphore.New(n)
	if err != nil {
		panic(err)
	}
	return s
}

// NewBargingSemaphore builds the semaphore of impl/semaphore with the
// Barging option, of capacity n.
func NewBargingSemaphore(n int) spec.Semaphore {
	s, err := semaphore.New(n, semaphore.Barging())
	if err != nil {
		panic(err)
	}
	return s
}

// Semaphores are impl/semaphore's semaphores by name: served in order
// ("in-order") and with the Barging option ("barging").
var Semaphores = []struct {
	Name string
	New  func(n int) spec.Semaphore
}{{"in-order", NewSemaphore}, {"barging", NewBargingSemaphore}}
