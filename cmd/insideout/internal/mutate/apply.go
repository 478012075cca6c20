package mutate

import (
	"cmp"
	"slices"
	"strings"
)

// helpers holds the functions that mutants call, appended to the mutated
// file. They keep a mutant one expression long, whatever the types: the
// compiler infers them. The plain ones read and write an atomic's value
// through its address: sync/atomic's types (and impl/seam's, with -tags
// sched) keep the value at offset 0, and a bool in the low byte of a
// uint32 (little-endian machines).
var helpers = map[string]string{
	"ioMutCASStore":   "func ioMutCASStore[T any](store func(T), old, new T) bool { store(new); return true }",
	"ioMutCASStoreFn": "func ioMutCASStoreFn[P, T any](store func(P, T), addr P, old, new T) bool { store(addr, new); return true }",
	"ioMutSwap":       "func ioMutSwap[T any](load func() T, store func(T), new T) T { old := load(); store(new); return old }",
	"ioMutSwapFn":     "func ioMutSwapFn[P, T any](load func(P) T, store func(P, T), addr P, new T) T { old := load(addr); store(addr, new); return old }",

	"ioMutPlainLoad":  "func ioMutPlainLoad[T, A any](_ func() T, a *A) T { return *(*T)(ioMutUnsafe.Pointer(a)) }",
	"ioMutPlainStore": "func ioMutPlainStore[T, A any](_ func() T, a *A, v T) { *(*T)(ioMutUnsafe.Pointer(a)) = v }",
	"ioMutPlainAdd":   "func ioMutPlainAdd[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr, A any](_ func() T, a *A, d T) T { p := (*T)(ioMutUnsafe.Pointer(a)); *p += d; return *p }",
	"ioMutPlainSwap":  "func ioMutPlainSwap[T, A any](_ func() T, a *A, v T) T { p := (*T)(ioMutUnsafe.Pointer(a)); old := *p; *p = v; return old }",
	"ioMutPlainCompareAndSwap": "func ioMutPlainCompareAndSwap[T comparable, A any](_ func() T, a *A, old, new T) bool { p := (*T)(ioMutUnsafe.Pointer(a)); " +
		"if *p != old { return false }; *p = new; return true }",
	"ioMutPlainOr":  "func ioMutPlainOr[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr, A any](_ func() T, a *A, m T) T { p := (*T)(ioMutUnsafe.Pointer(a)); old := *p; *p |= m; return old }",
	"ioMutPlainAnd": "func ioMutPlainAnd[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr, A any](_ func() T, a *A, m T) T { p := (*T)(ioMutUnsafe.Pointer(a)); old := *p; *p &= m; return old }",

	"ioMutPlainLoadFn":  "func ioMutPlainLoadFn[T any](p *T) T { return *p }",
	"ioMutPlainStoreFn": "func ioMutPlainStoreFn[T any](p *T, v T) { *p = v }",
	"ioMutPlainAddFn":   "func ioMutPlainAddFn[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr](p *T, d T) T { *p += d; return *p }",
	"ioMutPlainSwapFn":  "func ioMutPlainSwapFn[T any](p *T, v T) T { old := *p; *p = v; return old }",
	"ioMutPlainCompareAndSwapFn": "func ioMutPlainCompareAndSwapFn[T comparable](p *T, old, new T) bool { " +
		"if *p != old { return false }; *p = new; return true }",
	"ioMutPlainOrFn":  "func ioMutPlainOrFn[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr](p *T, m T) T { old := *p; *p |= m; return old }",
	"ioMutPlainAndFn": "func ioMutPlainAndFn[T ~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr](p *T, m T) T { old := *p; *p &= m; return old }",
}

// source returns the mutated text of m's file (src, as read), without the
// helpers it calls (for its diff) and with them (to compile).
func (m *Mutant) source(src []byte, pkgNameEnd int) (shown, full []byte) {
	edits := slices.Clone(m.edits)
	if slices.Contains(m.helpers, "unsafe") {
		edits = append(edits, edit{pkgNameEnd, pkgNameEnd, `; import ioMutUnsafe "unsafe"`})
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return cmp.Compare(b.off, a.off) })
	out := slices.Clone(src)
	for _, e := range edits {
		out = slices.Concat(out[:e.off], []byte(e.text), out[e.end:])
	}
	var h []string
	for _, name := range m.helpers {
		if src, ok := helpers[name]; ok {
			h = append(h, src)
		}
	}
	if len(h) == 0 {
		return out, out
	}
	tail := "\n// Added by insideout mutate.\n" + strings.Join(h, "\n") + "\n"
	return out, slices.Concat(out, []byte(tail))
}
