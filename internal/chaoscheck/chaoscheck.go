// Package chaoscheck lets a test show that a package's chaos points
// perturb it: Interleaved counts the rounds of an operation in whose
// middle another goroutine got the processor. Only tests import it.
package chaoscheck

import (
	"runtime"
	"sync/atomic"
)

// Interleaved runs op rounds times beside a goroutine that counts while it
// gets the processor, and returns in how many rounds that goroutine ran
// in the middle of op. Run it on one processor (runtime.GOMAXPROCS(1)):
// there the other goroutine runs only where op gives up the processor,
// which, in code that neither blocks nor yields, only a chaos point does.
func Interleaved(rounds int, op func()) int {
	var count atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			count.Add(1)
			runtime.Gosched()
		}
	}()
	n := 0
	for range rounds {
		runtime.Gosched() // let the counter run up to here
		before := count.Load()
		op()
		if count.Load() != before {
			n++
		}
	}
	close(stop)
	<-done
	return n
}
