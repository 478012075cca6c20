package mailbox_test

import (
	"fmt"

	"github.com/insideout-go/insideout/impl/mailbox"
)

type order struct{ id int }

// A mailbox of capacity 2 between a sender and a receiver: Send waits
// while it is full; CloseWrite lets the receiver take what is queued, and
// then ends its range.
func ExampleMailbox() {
	m := mailbox.New[order](2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for o := range m.All() {
			fmt.Println("order", o.id)
		}
	}()
	for id := range 4 {
		if err := m.Send(&order{id: id}); err != nil {
			fmt.Println(err)
		}
	}
	m.CloseWrite()
	<-done
	fmt.Println(m.Send(&order{id: 9}))
	// Output:
	// order 0
	// order 1
	// order 2
	// order 3
	// mailbox: unwritable: closed for writing or reading
}
