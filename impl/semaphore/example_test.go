package semaphore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/semaphore"
)

// At most two of ten workers run at once; Do holds a permit around each.
func ExampleSemaphore_Do() {
	sem, err := semaphore.New(2)
	if err != nil {
		panic(err)
	}
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_ = sem.Do(context.Background(), func() {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				running.Add(-1)
			})
		})
	}
	wg.Wait()
	fmt.Println("at most", most.Load() <= 2, "running; free:", sem.Available())

	_, err = semaphore.New(0)
	fmt.Println(err)
	// Output:
	// at most true running; free: 2
	// semaphore: bad capacity: New(0): the capacity must be at least 1 and at most 2305843009213693951
}

// With Barging, a holder that gives its permit back and wants it again
// at once takes it again without waiting its turn behind sleepers: the
// throughput of sync.Mutex's normal mode, for a semaphore. No waiter
// waits for ever: one overtaken twice is handed the next permit.
func ExampleBarging() {
	sem, err := semaphore.New(1, semaphore.Barging())
	if err != nil {
		panic(err)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				_ = sem.Do(context.Background(), func() { total.Add(1) })
			}
		})
	}
	wg.Wait()
	fmt.Println(total.Load(), "calls; free:", sem.Available())
	// Output:
	// 4000 calls; free: 1
}
