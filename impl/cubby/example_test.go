package cubby_test

import (
	"fmt"
	"sync"

	"github.com/insideout-go/insideout/impl/cubby"
)

// Stats is a value of several words: a Cubby copies it in and out whole,
// with no allocation.
type Stats struct {
	Requests, Errors, Bytes uint64
}

// One goroutine publishes a snapshot; another polls it with TryLoad,
// which answers at once while nothing is new.
func ExampleCubby() {
	c := cubby.New[Stats]()
	var wg sync.WaitGroup
	wg.Go(func() { // the writer
		c.Store(Stats{Requests: 10, Errors: 1, Bytes: 4096})
	})
	wg.Wait()

	var seen uint64 // the reader's last version
	if s, n, ok := c.TryLoad(seen); ok {
		seen = n
		fmt.Printf("version %d: %+v\n", n, s)
	}
	_, _, ok := c.TryLoad(seen)
	fmt.Println("anything new:", ok)

	// The writer changes one field in place.
	_ = c.Update(func(s *Stats) { s.Errors++ })
	s, n := c.Load()
	fmt.Printf("version %d: %d errors\n", n, s.Errors)

	fmt.Println(c.Update(nil))
	// Output:
	// version 1: {Requests:10 Errors:1 Bytes:4096}
	// anything new: false
	// version 2: 2 errors
	// cubby: Update or View with a nil function
}
