package stress

import (
	"sync/atomic"
	"time"
)

// watchStall watches progress until done is closed: whenever it has not
// moved for stall, it calls onStall, and again at every tick it stays
// still, so that a release that must be repeated (sleepers that arrive
// after the first) is. It is the watchdog of the storms, which turns a
// lost item or a call asleep for good into a report instead of a hang.
func watchStall(done <-chan struct{}, progress *atomic.Int64, stall time.Duration, onStall func()) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	seen, since := progress.Load(), time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if n := progress.Load(); n != seen {
			seen, since = n, time.Now()
			continue
		}
		if time.Since(since) >= stall {
			onStall()
		}
	}
}
