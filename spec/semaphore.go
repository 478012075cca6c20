package spec

import "context"

// Semaphore is the contract of a counting semaphore of capacity n ≥ 1:
// the Nim original's semaphore (wait, signal, tryWait, and a with-block)
// with a context for the wait.
//
// Sequential semantics. The state is the number of free permits, k, with
// 0 ≤ k ≤ n, initially n.
//
//   - Acquire(ctx) takes a permit, k → k-1, and returns nil, if k > 0.
//     If k = 0 it waits until it can take one, or until ctx is done; a
//     call cut short returns ctx.Err() and changes nothing: it took no
//     permit, and it returns the error only having found k = 0 (a call
//     whose context is already done still takes a free permit). A permit
//     granted to a waiter before it saw its context end is its own:
//     Acquire then returns nil, and the caller must Release it.
//   - TryAcquire() takes a permit and returns true if k > 0, and returns
//     false, changing nothing, if k = 0. It never waits.
//   - Release() gives a permit back: k → k+1. Releasing when k = n (more
//     Releases than Acquires) is a programmer error: an implementation
//     panics, as sync.Mutex's Unlock of an unlocked mutex does, with a
//     message that says so, and changes nothing. While other permits are
//     held, an extra Release cannot be told from theirs: it is not
//     detected, and the semaphore then admits one more holder than n.
//   - Do(ctx, f) is the with-block: Acquire(ctx), then f, then Release,
//     also when f panics. If Acquire fails, f does not run and Do returns
//     its error.
//   - Available() returns k.
//
// Concurrency. Acquire, TryAcquire, Release and Available are
// linearizable: each appears to take effect at one instant between its
// call and its return (an Acquire cut short, at an instant when k = 0).
// Do is an Acquire and a Release, each linearizable, with f between.
//
// Liveness. A waiter does not sleep while a permit is free: every Release
// while some Acquire waits either hands its permit to exactly one of
// them, ending its wait, or frees it and wakes exactly one to take it,
// which sleeps again only if another call took that permit first (the
// permit is never left free beside waiters that all sleep). A waiter that
// gives up loses nothing: a permit released to it as its context ends is
// either its own (Acquire returns nil) or goes on to another waiter, or
// back to the count.
//
// Order (an implementation's choice, which it must document): insideout's
// impl/semaphore serves waiters first come, first served; with its
// Barging option a caller may take a permit ahead of sleepers, and a
// sleeper that found its permit taken twice is handed the next.
type Semaphore interface {
	Acquire(ctx context.Context) error
	TryAcquire() bool
	Release()
	Do(ctx context.Context, f func()) error
	Available() int
}
