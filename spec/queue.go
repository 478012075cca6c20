package spec

// Queue is the contract of an unbounded FIFO queue of pointers, the
// primitive every other part of insideout moves its work through.
//
// Sequential semantics. The state is a finite sequence of non-nil pointers,
// initially empty.
//
//   - Push(v) with v != nil appends v at the end of the sequence. It always
//     succeeds. Push(nil) is a programmer error and panics: nil is the empty
//     result of Pop.
//   - Pop() removes and returns the first pointer of the sequence, or
//     returns nil, leaving the state unchanged, if the sequence is empty.
//     Pop never returns nil while the sequence is non-empty.
//   - Len() returns the length of the sequence.
//
// Concurrency. Push and Pop are linearizable. Neither blocks: a Pop on an
// empty queue returns nil rather than waiting. Len is exact whenever no Push
// or Pop is in progress; during concurrent operations it is an estimate and
// is not part of the linearizable contract.
//
// Identity. The queue moves pointers, never the objects behind them: the
// pointer popped is the very pointer pushed.
type Queue[T any] interface {
	Push(v *T)
	Pop() *T
	Len() int
}
