//go:build sched && (amd64 || arm64)

package seam

// getg returns the address of the calling goroutine's runtime g: it
// stays the same for the goroutine's life, and no two live goroutines
// share it. Reading it costs a nanosecond where parsing runtime.Stack's
// header costs microseconds at every switch point.
func getg() uintptr

// self returns the calling goroutine's key in the registry.
func self() uintptr { return getg() }
