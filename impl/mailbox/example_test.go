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

// TrySend and TryRecv never wait: they report what happened as a
// mailbox.Result, and Flags shows the state at one instant, all in the
// package's own names. (Without those names, this example would need
// package spec: it catches their removal.)
func ExampleMailbox_TrySend() {
	m := mailbox.New[order](1)
	fmt.Println(m.TrySend(&order{id: 1}) == mailbox.Delivered)
	fmt.Println(m.TrySend(&order{id: 2}) == mailbox.Full)
	fmt.Println(m.Flags()&mailbox.FlagFull != 0)
	m.CloseWrite()
	o, r := m.TryRecv()
	fmt.Println(o.id, r == mailbox.Received)
	_, r = m.TryRecv()
	fmt.Println(r == mailbox.Unreadable, r)
	// Output:
	// true
	// true
	// true
	// 1 true
	// true Unreadable
}
