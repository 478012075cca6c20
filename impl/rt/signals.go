package rt

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// DefaultSignals are the signals a runtime acts on by default (see
// Runtime.Signal): SIGTERM and SIGQUIT halt it, SIGCONT thaws it, SIGINT is
// ignored (routing it keeps it from ending the process).
var DefaultSignals = []os.Signal{syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGCONT, syscall.SIGINT}

// RouteSignals delivers the process signals sigs (DefaultSignals if none)
// to every runtime in rs, applying each one's default action, until the
// returned stop is called. The Go runtime owns the process's signal
// handlers, so the signals arrive through os/signal: while routed they no
// longer have their own default effect on the process (SIGTERM no longer
// ends it). Stop restores that, and returns once no signal is being
// delivered; it may be called more than once.
func RouteSignals(sigs []os.Signal, rs ...*Runtime) (stop func()) {
	if len(sigs) == 0 {
		sigs = DefaultSignals
	}
	// outside the seam: process signals arrive on os/signal's channel, sent on by the Go runtime; the goroutine, its quit channel, WaitGroup and Once are the router's, not a runtime's
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, sigs...)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select { // outside the seam: see above
			case sig := <-ch:
				for _, r := range rs {
					r.Signal(sig)
				}
			case <-quit:
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
			wg.Wait()
		})
	}
}
