//go:build sched

package seam

import (
	"sync/atomic"
	"unsafe"
)

// The atomic types below are sync/atomic's, one for one. Every method
// passes a switch point (step) first and then does the atomic operation.
// In an ordinary build they are sync/atomic's own types (atomic_plain.go),
// so that code using them costs the inliner no more than sync/atomic.

// Int32 is an atomic int32, like atomic.Int32.
type Int32 struct{ v atomic.Int32 }

// Load atomically loads and returns the value.
func (x *Int32) Load() int32 { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Int32) Store(val int32) { step(opStore); x.v.Store(val) }

// Add atomically adds delta and returns the new value.
func (x *Int32) Add(delta int32) int32 { step(opAdd); return x.v.Add(delta) }

// Swap atomically stores new and returns the previous value.
func (x *Int32) Swap(new int32) int32 { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Int32) CompareAndSwap(old, new int32) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// Uint32 is an atomic uint32, like atomic.Uint32.
type Uint32 struct{ v atomic.Uint32 }

// Load atomically loads and returns the value.
func (x *Uint32) Load() uint32 { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Uint32) Store(val uint32) { step(opStore); x.v.Store(val) }

// Add atomically adds delta and returns the new value.
func (x *Uint32) Add(delta uint32) uint32 { step(opAdd); return x.v.Add(delta) }

// Swap atomically stores new and returns the previous value.
func (x *Uint32) Swap(new uint32) uint32 { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Uint32) CompareAndSwap(old, new uint32) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// Int64 is an atomic int64, like atomic.Int64.
type Int64 struct{ v atomic.Int64 }

// Load atomically loads and returns the value.
func (x *Int64) Load() int64 { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Int64) Store(val int64) { step(opStore); x.v.Store(val) }

// Add atomically adds delta and returns the new value.
func (x *Int64) Add(delta int64) int64 { step(opAdd); return x.v.Add(delta) }

// Swap atomically stores new and returns the previous value.
func (x *Int64) Swap(new int64) int64 { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Int64) CompareAndSwap(old, new int64) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// Uint64 is an atomic uint64, like atomic.Uint64.
type Uint64 struct{ v atomic.Uint64 }

// Load atomically loads and returns the value.
func (x *Uint64) Load() uint64 { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Uint64) Store(val uint64) { step(opStore); x.v.Store(val) }

// Add atomically adds delta and returns the new value.
func (x *Uint64) Add(delta uint64) uint64 { step(opAdd); return x.v.Add(delta) }

// Swap atomically stores new and returns the previous value.
func (x *Uint64) Swap(new uint64) uint64 { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Uint64) CompareAndSwap(old, new uint64) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// Or atomically sets the bits of mask and returns the old value.
func (x *Uint64) Or(mask uint64) uint64 { step(opOr); return x.v.Or(mask) }

// And atomically keeps only the bits of mask and returns the old value.
func (x *Uint64) And(mask uint64) uint64 { step(opAnd); return x.v.And(mask) }

// Bool is an atomic bool, like atomic.Bool.
type Bool struct{ v atomic.Bool }

// Load atomically loads and returns the value.
func (x *Bool) Load() bool { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Bool) Store(val bool) { step(opStore); x.v.Store(val) }

// Swap atomically stores new and returns the previous value.
func (x *Bool) Swap(new bool) bool { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Bool) CompareAndSwap(old, new bool) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// Pointer is an atomic pointer of type *T, like atomic.Pointer.
type Pointer[T any] struct{ v atomic.Pointer[T] }

// Load atomically loads and returns the value.
func (x *Pointer[T]) Load() *T { step(opLoad); return x.v.Load() }

// Store atomically stores val.
func (x *Pointer[T]) Store(val *T) { step(opStore); x.v.Store(val) }

// Swap atomically stores new and returns the previous value.
func (x *Pointer[T]) Swap(new *T) *T { step(opSwap); return x.v.Swap(new) }

// CompareAndSwap executes the compare-and-swap operation.
func (x *Pointer[T]) CompareAndSwap(old, new *T) bool {
	step(opCAS)
	return x.v.CompareAndSwap(old, new)
}

// LoadPointer is atomic.LoadPointer, for slots that are plain
// unsafe.Pointer words (a segment's slots, say).
func LoadPointer(addr *unsafe.Pointer) unsafe.Pointer {
	step(opLoad)
	return atomic.LoadPointer(addr)
}

// StorePointer is atomic.StorePointer.
func StorePointer(addr *unsafe.Pointer, val unsafe.Pointer) {
	step(opStore)
	atomic.StorePointer(addr, val)
}

// SwapPointer is atomic.SwapPointer.
func SwapPointer(addr *unsafe.Pointer, new unsafe.Pointer) unsafe.Pointer {
	step(opSwap)
	return atomic.SwapPointer(addr, new)
}

// CompareAndSwapPointer is atomic.CompareAndSwapPointer.
func CompareAndSwapPointer(addr *unsafe.Pointer, old, new unsafe.Pointer) bool {
	step(opCAS)
	return atomic.CompareAndSwapPointer(addr, old, new)
}
