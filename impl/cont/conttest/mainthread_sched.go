//go:build sched

package conttest

import "runtime"

// In a build for the controlled scheduler, the main goroutine keeps the
// process's main thread for good, so that no goroutine of a controlled run
// ever lands on it. impl/rt starts an OS-thread runtime by another path on
// the main thread (lockOffMainThread: one goroutine more, and other
// steps), so a round with an OS-thread pool would take steps that depend
// on which thread ran them, and its schedules would not replay. Only the
// sched build pays for it (a thread handoff whenever the main goroutine
// blocks); an ordinary build leaves threads alone.
func init() { runtime.LockOSThread() }
