package queue_test

import (
	"fmt"
	"sync"

	"github.com/insideout-go/insideout/impl/queue"
)

type job struct{ id int }

// Producers and consumers share one queue with no lock; each job comes
// out once, as the very pointer that went in.
func ExampleQueue() {
	q := queue.New[job]()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 250 {
				q.Push(&job{id: p*250 + i})
			}
		})
	}
	wg.Wait()
	seen := make(map[int]bool)
	for j := q.Pop(); j != nil; j = q.Pop() {
		seen[j.id] = true
	}
	fmt.Println(len(seen), "jobs, each once; left:", q.Len())
	// Output: 1000 jobs, each once; left: 0
}
