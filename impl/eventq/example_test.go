package eventq_test

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seq"
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
	if _, err := q.Register(p[0], eventq.Read|eventq.OneShot, reader); err != nil {
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

// A continuation on a runtime waits for a socket and sleeps, and the
// runtime is free meanwhile: it sleeps in its event queue until the
// socket has data or the timer expires. Step form with Await and Sleep,
// sequential form with k.Await and k.Sleep.
func ExampleAwait() {
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	sock := fds[0]

	var read cont.Step
	read = func(ctx context.Context, c *cont.C) cont.Step {
		buf := make([]byte, 64)
		n, err := unix.Read(sock, buf)
		if err == unix.EAGAIN {
			return eventq.Await(ctx, c, sock, eventq.Read, read) // the runtime is free until data comes
		}
		fmt.Printf("step form read %q\n", buf[:n])
		return eventq.Sleep(ctx, c, 10*time.Millisecond, func(context.Context, *cont.C) cont.Step {
			fmt.Println("step form slept")
			return nil
		})
	}
	r, _ := rt.Spawn(cont.New(read))
	unix.Write(fds[1], []byte("hello"))
	r.Join()

	s, _ := rt.Spawn(seq.New(func(k *seq.K) {
		k.Sleep(10 * time.Millisecond)
		fmt.Println("sequential form slept")
		if err := k.Await(sock, eventq.Read); err == nil {
			buf := make([]byte, 64)
			n, _ := unix.Read(sock, buf)
			fmt.Printf("sequential form read %q\n", buf[:n])
		}
	}))
	time.Sleep(20 * time.Millisecond)
	unix.Write(fds[1], []byte("again"))
	s.Join()
	// Output:
	// step form read "hello"
	// step form slept
	// sequential form slept
	// sequential form read "again"
}
