package rt

import "os"

// An Option configures Spawn.
type Option func(*options)

type options struct {
	startFrozen, skipPolling, denyCancels, osThread bool
	signals                                         []os.Signal
	cpus                                            []int
	name                                            string
	links                                           []*Runtime
}

// StartFrozen boots the runtime frozen: it runs nothing until thawed.
func StartFrozen() Option { return func(o *options) { o.startFrozen = true } }

// SkipPolling turns Polling off: the runtime will not poll an event queue.
func SkipPolling() Option { return func(o *options) { o.skipPolling = true } }

// Signals has the runtime receive the process signals sigs
// (DefaultSignals if none) in its local event queue and apply each one's
// default action (see Signal): SIGTERM and SIGQUIT halt it, SIGCONT
// thaws it, the others are ignored. The signals arrive through os/signal,
// so while any runtime receives one, it no longer has its own default
// effect on the process (SIGTERM no longer ends it); the runtime stops
// receiving them when it tears down. A frozen runtime still receives
// them, so that SIGCONT can thaw it. It needs Polling: Spawn fails with
// ErrNoQueue if SkipPolling is given too.
func Signals(sigs ...os.Signal) Option {
	return func(o *options) {
		if len(sigs) == 0 {
			sigs = DefaultSignals
		}
		o.signals = append(o.signals, sigs...)
	}
}

// DenyCancels turns Cancels off: Cancel refuses.
func DenyCancels() Option { return func(o *options) { o.denyCancels = true } }

// OSThread runs the runtime on an OS thread of its own, locked to its
// goroutine for its whole life; the thread ends with the runtime.
func OSThread() Option { return func(o *options) { o.osThread = true } }

// PinCPU restricts the runtime's thread to the given CPUs (its affinity);
// it implies OSThread. Spawn fails if the affinity cannot be set.
func PinCPU(cpus ...int) Option {
	return func(o *options) { o.osThread, o.cpus = true, append(o.cpus, cpus...) }
}

// Name names the runtime: in its errors and String, and, on an OS thread,
// as the thread's name in /proc (the kernel keeps 15 bytes).
func Name(s string) Option { return func(o *options) { o.name = s } }

// LinkTo links the new runtime to r before it runs its first step.
func LinkTo(r *Runtime) Option { return func(o *options) { o.links = append(o.links, r) } }
