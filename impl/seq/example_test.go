package seq_test

import (
	"fmt"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seq"
)

// A sequential continuation visits another pool in the middle of an
// ordinary function, asks a server pool a question, and comes home.
func Example() {
	homeBox := mailbox.New[cont.C](mailbox.Unbounded)
	awayBox := mailbox.New[cont.C](mailbox.Unbounded)
	serverBox := mailbox.New[cont.C](mailbox.Unbounded)
	home, _ := pool.New(pool.Waiter, homeBox, 1)
	away, _ := pool.New(pool.Waiter, awayBox, 1)
	server, _ := pool.New(pool.Waiter, serverBox, 1)
	where := func(k *seq.K) string {
		r := rt.FromContext(k.Context())
		for name, p := range map[string]*pool.Pool{"home": home, "away": away, "server": server} {
			if slices.Contains(slices.Collect(p.Items()), r) {
				return name
			}
		}
		return "?"
	}

	done := make(chan struct{})
	homeBox.Send(seq.New(func(k *seq.K) {
		defer close(done)
		fmt.Println("start at", where(k))
		k.Goto(awayBox)
		fmt.Println("now at", where(k))
		answer, err := seq.ComeFrom(k, serverBox, func(k *seq.K) int {
			fmt.Println("asked at", where(k))
			return 42
		})
		fmt.Println("answer", answer, err, "at", where(k))
		k.Goto(homeBox)
		fmt.Println("back at", where(k))
	}))
	<-done
	home.Close()
	away.Close()
	server.Close()
	// Output:
	// start at home
	// now at away
	// asked at server
	// answer 42 <nil> at away
	// back at home
}
