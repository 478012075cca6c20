package queue_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/queue"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Len may run beside Push and Pop: it reads the counters atomically, so
// the race detector stays quiet, and its estimate stays between 0 and the
// positions claimed so far: the items pushed, plus the positions that
// pops of an empty queue abandoned, which pushes then skip (the tail
// counts those too: Len = 4002 of 4000 pushed was seen in CI). The bugs this catches: a plain read of head or
// tail in Len (the mutants Queue.Len:atomic-plain:1 and :2, which only a
// concurrent Len under -race can show), and an estimate that wraps below
// zero when head passes a stale tail.
func TestLenBesidePushAndPop(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const producers, each = 2, 2000
	q := queue.New[int]()
	var work, watch sync.WaitGroup
	var pops atomic.Int64 // Pop calls so far: each can abandon a position
	stop := make(chan struct{})
	for range producers {
		work.Go(func() {
			for i := range each {
				q.Push(&i)
			}
		})
		work.Go(func() {
			for got := 0; got < each; {
				pops.Add(1)
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
			n := q.Len()
			if most := producers*each + int(pops.Load()); n < 0 || n > most {
				t.Errorf("Len = %d beside pushes and pops, want 0 to %d", n, most)
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
