package semaphore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/semaphore"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Available may run beside Acquire and Release: it reads the word
// atomically, so the race detector stays quiet, and its count stays
// between 0 and the capacity. The bugs this catches: a plain read of the
// word in Available (the mutation runner's survivor
// Semaphore.Available:atomic-plain:1, which only a concurrent Available
// under -race can show), and a count that shows the queued bit.
func TestAvailableBesideAcquireAndRelease(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const capacity, workers, each = 2, 4, 500
	s, err := semaphore.New(capacity)
	if err != nil {
		t.Fatal(err)
	}
	var work, watch sync.WaitGroup
	stop := make(chan struct{})
	for range workers {
		work.Go(func() {
			for range each {
				if err := s.Acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				s.Release()
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
			if n := s.Available(); n < 0 || n > capacity {
				t.Errorf("Available = %d beside acquires and releases, want 0 to %d", n, capacity)
				return
			}
		}
	})
	work.Wait()
	close(stop)
	watch.Wait()
	if n := s.Available(); n != capacity {
		t.Fatalf("Available = %d once every permit was released, want %d", n, capacity)
	}
}
