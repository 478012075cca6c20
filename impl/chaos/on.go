//go:build chaos

package chaos

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Enabled reports whether this build was made with -tags chaos.
const Enabled = true

var (
	seed  atomic.Uint64
	calls atomic.Uint64
)

// SetSeed chooses the seed of the perturbation and restarts its sequence of
// decisions. It is safe to call at any time; scenarios call it once per
// round.
func SetSeed(s uint64) {
	seed.Store(s)
	calls.Store(0)
}

// Point marks a synchronisation point. With -tags chaos it yields the
// processor on about one call in eight, and sleeps for 1 to 16 microseconds
// on about one call in 128; otherwise it returns at once.
func Point() {
	switch act, d := decide(seed.Load(), calls.Add(1)); act {
	case sleep:
		time.Sleep(d)
	case yield:
		runtime.Gosched()
	}
}

// An action is what one call of Point does.
type action uint8

const (
	proceed action = iota
	yield
	sleep
)

// decide returns the action of the n-th call of Point under seed s, and
// the pause for a sleep. It is a pure function: a seed fixes the sequence.
func decide(s, n uint64) (action, time.Duration) {
	r := mix(s ^ n)
	switch {
	case r&127 == 0:
		return sleep, time.Duration(1+(r>>7)&15) * time.Microsecond
	case r&7 == 0:
		return yield, 0
	}
	return proceed, 0
}

// mix is SplitMix64's finaliser: a bijection with good avalanche, so that
// consecutive counter values give unrelated decisions.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
