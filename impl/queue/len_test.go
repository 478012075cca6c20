package queue_test

import (
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/queue"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Len may run beside Push and Pop: it reads the counters atomically, so
// the race detector stays quiet, and its estimate stays between 0 and the
// items pushed so far. The bugs this catches: a plain read of head or
// tail in Len (the mutants Queue.Len:atomic-plain:1 and :2, which only a
// concurrent Len under -race can show), and an estimate that wraps below
// zero when head passes a stale tail.
func TestLenBesidePushAndPop(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const producers, each = 2, 2000
	q := queue.New[int]()
	var work, watch sync.WaitGroup
	stop := make(chan struct{})
	for range producers {
		work.Go(func() {
			for i := range each {
				q.Push(&i)
			}
		})
		work.Go(func() {
			for got := 0; got < each; {
				if q.Pop() != nil {
					got++
				}
			}
		})
	}
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := q.Len(); n < 0 || n > producers*each {
				t.Errorf("Len = %d beside pushes and pops, want 0 to %d", n, producers*each)
				return
			}
		}
	})
	work.Wait()
	close(stop)
	watch.Wait()
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d once every item was popped", n)
	}
}
