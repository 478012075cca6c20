package stress

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// voidBox is the void mailbox's interface.
type voidBox interface {
	WaitPushable() bool
	WaitPoppable() bool
	WaitEmpty()
	WaitFull()
	Pause() bool
	Resume() bool
	CloseWrite() bool
	Interrupt(n int) int
	Flags() spec.Flags
}

// voidConfig sizes a void storm.
type voidConfig struct {
	waiters, toggles int
	pausedAtClose    bool // close while paused, then resume
	seed             uint64
	finish           time.Duration
}

// voidFlags are the flags a void mailbox always has.
const voidFlags = spec.FlagEmpty | spec.FlagFull | spec.FlagBounded

// voidStorm runs waiters that wait at v's gate over and over while a
// controller pauses, resumes and interrupts it, then closes it for
// writing; every waiter must come back with false, and only after the
// close.
func voidStorm(v voidBox, cfg voidConfig) result {
	var res result
	var (
		problems    mbProblems
		closeCalled atomic.Bool // set just before CloseWrite
		resumed     atomic.Bool // set just before the Resume after a paused close
		waiters     sync.WaitGroup
		trues       atomic.Int64
		start       = make(chan struct{})
	)
	begin := time.Now()
	for w := range cfg.waiters {
		waiters.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(w)))
			<-start
			for {
				var ok bool
				switch k := r.IntN(8); {
				case k < 3:
					ok = v.WaitPoppable()
				case k < 6:
					ok = v.WaitPushable()
				case k == 6:
					v.WaitEmpty() // always at once; a hang here is caught by the finish limit
					continue
				default:
					v.WaitFull()
					continue
				}
				if ok {
					trues.Add(1)
					jitter(r, 20)
					continue
				}
				// The bug: a waiter told the gate is closed before anyone
				// closed it, or while it was still paused (a Wait sleeps
				// while paused, closed or not).
				if !closeCalled.Load() {
					problems.add("waiter %d: a Wait reported false before CloseWrite", w)
				} else if cfg.pausedAtClose && !resumed.Load() {
					problems.add("waiter %d: a Wait reported false while the closed mailbox was still paused", w)
				}
				// The bug: false, yet the flags still say open (closing
				// cannot be undone).
				if f := v.Flags(); f&(spec.FlagReadable|spec.FlagWritable) != 0 {
					problems.add("waiter %d: a Wait reported false, then Flags = %v", w, f)
				}
				return
			}
		})
	}
	r := rand.New(rand.NewPCG(cfg.seed, 1000))
	close(start)
	check := func(when string, want spec.Flags) {
		// The bug: flags that do not show the state the controller alone
		// sets (paused or not, open or closed), or that lose the void's
		// fixed Empty, Full and Bounded.
		if f := v.Flags() &^ spec.FlagInterrupt; f != want {
			problems.add("Flags = %v %s, want %v", f, when, want)
		}
	}
	open := voidFlags | spec.FlagReadable | spec.FlagWritable
	for range cfg.toggles {
		// The bug: Pause or Resume misreporting a change that only this
		// goroutine makes.
		if !v.Pause() {
			problems.add("Pause reported the gate paused already; only the controller pauses it")
		}
		check("while paused", open|spec.FlagPaused)
		jitter(r, 300)
		if r.IntN(3) == 0 {
			n := r.IntN(cfg.waiters + 3)
			// The bug: more woken than allowed, or than there are waiters.
			if woke := v.Interrupt(n); woke < 0 || woke > n || woke > cfg.waiters {
				problems.add("Interrupt(%d) reported %d woken, with %d waiters", n, woke, cfg.waiters)
			}
		}
		if !v.Resume() {
			problems.add("Resume reported the gate running already; only the controller pauses it")
		}
		check("while running", open)
		jitter(r, 30)
	}
	if cfg.pausedAtClose && !v.Pause() {
		problems.add("Pause reported the gate paused already; only the controller pauses it")
	}
	closeCalled.Store(true)
	if !v.CloseWrite() {
		problems.add("CloseWrite reported the gate closed already; nothing had closed it")
	}
	if cfg.pausedAtClose {
		check("closed while paused", voidFlags|spec.FlagPaused)
		jitter(r, 300)
		resumed.Store(true)
		if !v.Resume() {
			problems.add("Resume reported the gate running; it was paused")
		}
	}
	if res.hang = waitAll(&waiters, cfg.finish); res.hang != "" {
		return res
	}
	check("at the end", voidFlags)
	res.logf("seed %#x: %d waiters, %d pauses, closed while %s: %v, %d Waits answered true (chaos %v)",
		cfg.seed, cfg.waiters, cfg.toggles, map[bool]string{true: "paused", false: "running"}[cfg.pausedAtClose],
		time.Since(begin).Round(time.Millisecond), trues.Load(), chaos.Enabled)
	res.problems = append(res.problems, problems.list...)
	if problems.more > 0 {
		res.problemf("and %d more problems like those", problems.more)
	}
	return res
}

// A void mailbox as a gate: 16 goroutines wait at it with WaitPoppable and
// WaitPushable (and the always-immediate WaitEmpty and WaitFull) over and
// over, while the controller pauses, resumes and interrupts it; then it is
// closed for writing, while running or while paused, and every waiter
// must return false.
//
// The bug: a waiter that sleeps through a Resume or a close (a lost
// wake-up: the round hangs and the stacks are reported), a Wait that
// reports the gate closed too early or while it is paused, an Interrupt
// that claims too many, flags inconsistent with the state.
func TestVoidStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	n := soak(t)
	for round := range voidRounds * n {
		res := voidStorm(mailbox.NewVoid(), voidConfig{
			waiters: voidWaiters, toggles: voidToggles, pausedAtClose: round%2 == 1,
			seed: seed + uint64(round), finish: finishTimeout,
		})
		if round < 2 || res.hang != "" || len(res.problems) > 0 {
			res.report(t)
		}
		if t.Failed() {
			return
		}
	}
}
