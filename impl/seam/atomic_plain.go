//go:build !sched

package seam

import (
	"sync/atomic"
	"unsafe"
)

// In an ordinary build the atomic types are sync/atomic's own: a wrapper,
// even one the compiler inlines, costs the inliner more than the method it
// wraps, and pushes functions built of a few atomics (the mailbox's
// snapshot) over its budget. With -tags sched they are wrappers whose
// every method is a switch point (atomic_sched.go); code that mixes seam
// and sync/atomic types compiles here and not there, which
// `go vet -tags sched` catches.

// Int32 is an atomic int32: atomic.Int32.
type Int32 = atomic.Int32

// Uint32 is an atomic uint32: atomic.Uint32.
type Uint32 = atomic.Uint32

// Int64 is an atomic int64: atomic.Int64.
type Int64 = atomic.Int64

// Uint64 is an atomic uint64: atomic.Uint64.
type Uint64 = atomic.Uint64

// Bool is an atomic bool: atomic.Bool.
type Bool = atomic.Bool

// Pointer is an atomic pointer of type *T: atomic.Pointer.
type Pointer[T any] = atomic.Pointer[T]

// LoadPointer is atomic.LoadPointer, for slots that are plain
// unsafe.Pointer words (a segment's slots, say).
func LoadPointer(addr *unsafe.Pointer) unsafe.Pointer { return atomic.LoadPointer(addr) }

// StorePointer is atomic.StorePointer.
func StorePointer(addr *unsafe.Pointer, val unsafe.Pointer) { atomic.StorePointer(addr, val) }

// SwapPointer is atomic.SwapPointer.
func SwapPointer(addr *unsafe.Pointer, new unsafe.Pointer) unsafe.Pointer {
	return atomic.SwapPointer(addr, new)
}

// CompareAndSwapPointer is atomic.CompareAndSwapPointer.
func CompareAndSwapPointer(addr *unsafe.Pointer, old, new unsafe.Pointer) bool {
	return atomic.CompareAndSwapPointer(addr, old, new)
}
