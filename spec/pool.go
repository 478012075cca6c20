package spec

import "iter"

// Pool is the contract of a pool: a set of runtimes, the Nim original's
// pools. R is the runtime type (a Runtime), C the continuation type.
// insideout's impl/pool is Pool[*rt.Runtime, *cont.C].
//
// Members. The state is a sequence W of distinct runtimes, the members,
// in the order they joined, and a set G of runtimes that left it.
//
//   - Adding appends at the end of W. A pool adds a worker (a runtime
//     running a dispatcher: a continuation that takes continuations from
//     a mailbox and runs them), n workers at once from a dispatcher over
//     any mailbox, all or none (a pool may take its work from several
//     mailboxes), a runtime running a given continuation, or a runtime
//     spawned elsewhere, running anything (which must not be a member
//     already). Which calls do which is the implementation's.
//   - Count() returns |W|; Items() yields W, in order, as it is when the
//     iteration starts.
//   - Drain() removes the last member of W, moves it to G and returns it,
//     still running, now the caller's; it returns the zero R if W is
//     empty. Clear() moves every member to G; none stops.
//   - Halt, Interrupt and Cancel apply the runtime's own operation to
//     every member of W at the call (a runtime added meanwhile may be
//     missed, one drained meanwhile may be reached); they reach no member
//     of G.
//   - Join() waits until every member of W at the call is Dead and returns
//     their errors joined (nil if none failed); Leftovers(), once every
//     runtime of W and G is Dead, returns the continuations they were in
//     the middle of (for a worker: those its dispatcher had taken and not
//     finished; for another runtime: its own leftovers). Before that it
//     is a programmer error: an implementation panics.
//
// Work. Every continuation sent to a pool's mailbox, once every worker
// that took from that mailbox is Dead, is in exactly one place: completed,
// having run every step exactly once; still in a mailbox; or in
// Leftovers. No two workers run steps of one continuation at once, and no
// step runs after the continuation finished or moved away. A dispatcher
// gives each step it runs a context in which the mailbox the continuation
// came from can be found (the implementation documents the key), so that
// a step can send its continuation back there.
//
// Dispatchers. A waiter runs continuation after continuation from its
// mailbox until the mailbox can never yield again (closed for reading, or
// closed for writing and drained); an interrupt of its runtime makes it
// look at its flags and wait again, never end or drop what it holds. A
// runner runs exactly one continuation, then ends; it ends at once if its
// mailbox can never yield one. Halting or freezing a worker takes effect
// between two steps of the work.
//
// A forgotten pool. A pool that the program no longer references halts
// every member of W and joins them, so that it leaks no goroutine; members
// of G are the caller's and left alone. What the members were in the
// middle of is handed to a function the program may set, or else given
// back to the mailbox it came from where that takes it. The Nim
// original's pool joins at destruction (and interrupts, halting only with
// an error in flight); a Go program cannot run that at a known point, and
// a member that waits in a mailbox someone still holds would never end
// by an interrupt, so a forgotten pool halts.
//
// Concurrency. Count, Drain, Clear and each addition are linearizable with
// respect to the members; Items, Halt, Interrupt, Cancel and Join read the
// members at one instant (a snapshot), and then act on each. The order
// of Items is oldest first, where the Nim original's list, which prepends,
// yields the newest first; Drain removes the newest in both.
type Pool[R Runtime, C any] interface {
	Count() int
	Items() iter.Seq[R]
	Drain() R
	Clear()
	Halt()
	Interrupt()
	Cancel()
	Join() error
	Leftovers() []C
}
