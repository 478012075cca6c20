package spec

// Cubby is the contract of a one-writer, one-reader cell: the Nim
// original's cubby (blockingWrite, blockingRead, and the
// beginWrite/endWrite brackets for work in place), with a version so that
// a reader can tell a new value from one it has seen.
//
// Roles. A cubby has two parties. The writer calls Store and Update; the
// reader calls Load, TryLoad and View. Any goroutine may take a role, but
// two calls of the same role must not overlap (one writer at a time, one
// reader at a time); a writer's and a reader's calls may overlap freely.
// Overlapping calls of one role are a programmer error: an implementation
// that finds two at once in their critical sections panics with a message
// that says so (as sync.Mutex's Unlock of an unlocked mutex does), and
// does not let the second in. A call of the writer from inside Update's
// function, or of the reader from inside View's, overlaps itself and is
// the same error.
//
// Sequential semantics. The state is a value v of type T, initially T's
// zero value, and a version n, initially 0.
//
//   - Store(x) sets v to a copy of x and n → n+1.
//   - Update(f) calls f(p) with p pointing at v, which f may change in
//     place, and then n → n+1; it returns nil. A nil f is an error,
//     ErrNilFunc of the implementation, and changes nothing.
//   - Load() returns a copy of v, and n.
//   - TryLoad(seen) returns false, with T's zero value and n, if n = seen:
//     nothing new since the version the reader last saw, found without
//     waiting. Otherwise it returns a copy of v, n and true.
//   - View(f) calls f(p) with p pointing at v, which f must only read, and
//     returns n and nil. A nil f is an error and calls nothing.
//
// Concurrency. Every call is linearizable: it appears to take effect at
// one instant between its call and its return. Store and Update on one
// side, and Load, TryLoad's copy and View on the other, are mutually
// exclusive: the reader never sees a value part written (never torn),
// and Update's and View's functions never run at once. The pointer f is
// given is valid only until f returns.
//
// Liveness. No call waits for the other party except while that party is
// inside its own critical section (a copy, or Update's or View's
// function): a Store with no reader, and a Load with no writer, never
// wait, and a party that wants in while the other is in gets in before the
// other gets in again (bounded bypass of one). TryLoad that finds nothing
// new never waits at all.
type Cubby[T any] interface {
	Store(x T)
	Update(f func(*T)) error
	Load() (T, uint64)
	TryLoad(seen uint64) (T, uint64, bool)
	View(f func(*T)) (uint64, error)
}
