package eventq_test

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
)

// A continuation resumed when a pipe has data: a one-shot registration,
// run by RunReady, which hands the firing to the step through its context.
func Example() {
	q, err := eventq.New()
	if err != nil {
		panic(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		panic(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])

	reader := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		fired, _ := eventq.Fired(ctx)
		buf := make([]byte, 64)
		n, _ := unix.Read(p[0], buf)
		fmt.Printf("%v: %q\n", fired.Events, buf[:n])
		return nil // finished
	})
	if _, err := q.Register(reader, p[0], eventq.Read|eventq.OneShot); err != nil {
		panic(err)
	}
	unix.Write(p[1], []byte("hello"))

	rest, err := q.RunReady(context.Background(), -1)
	fmt.Println(len(rest), err, q.Len())
	left, err := q.Close()
	fmt.Println(len(left), err)
	// Output:
	// Read: "hello"
	// 0 <nil> 0
	// 0 <nil>
}

// A periodic timer: its continuation is lent at each tick and handed back
// by RunReady after its step, until the step finishes it, which ends the
// registration.
func ExampleQueue_Every() {
	q, err := eventq.New()
	if err != nil {
		panic(err)
	}
	defer q.Close()
	ticks := 0
	tick := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		ticks++
		fmt.Println("tick", ticks)
		if ticks == 3 {
			return nil
		}
		return c.Next()
	})
	if _, err := q.Every(time.Millisecond, tick); err != nil {
		panic(err)
	}
	for q.Len() > 0 {
		if _, err := q.RunReady(context.Background(), -1); err != nil {
			panic(err)
		}
	}
	// Output:
	// tick 1
	// tick 2
	// tick 3
}

// A process signal arriving as an event.
func ExampleQueue_Signal() {
	q, err := eventq.New()
	if err != nil {
		panic(err)
	}
	defer q.Close()
	id, err := q.Signal(cont.New(nil), syscall.SIGUSR1)
	if err != nil {
		panic(err)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	ready, err := q.Wait(nil, -1)
	fmt.Println(ready[0].ID == id, ready[0].Signals, err)
	fmt.Println(q.Cancel(id))
	// Output:
	// true [user defined signal 1] <nil>
	// true
}
