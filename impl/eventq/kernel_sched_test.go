//go:build sched

package eventq_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seam"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// hangAfter ends the test binary with every goroutine's stack if the test
// has not finished within d: a Wait that slept in the kernel under the
// controlled scheduler would hang it.
func hangAfter(t *testing.T, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("%s: still running after %v\n%s", t.Name(), d, buf[:runtime.Stack(buf, true)]))
	})
	t.Cleanup(func() { timer.Stop() })
}

type randomChooser struct{ r *rand.Rand }

func (c randomChooser) Choose(d *seam.Decision) int { return c.r.IntN(len(d.Runnable)) }

type replayChooser struct {
	picks []seam.Choice
	i     int
}

func (c *replayChooser) Choose(d *seam.Decision) int {
	if c.i >= len(c.picks) {
		return -1
	}
	c.i++
	return c.picks[c.i-1].Picked
}

// controlledRound is one round of a queue made inside a controlled run: a
// one-shot read registration fired by another goroutine's write, a
// timer of an hour, a Wait with an hour's timeout and nothing to wait
// for, and Close. It returns what went wrong, if anything.
func controlledRound() (problems []string) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	q, err := eventq.New()
	if err != nil {
		fail("New: %v", err)
		return
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		fail("pipe: %v", err)
		return
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	c := idle()
	id, err := q.Register(p[0], eventq.Read|eventq.OneShot, c)
	if err != nil {
		fail("Register: %v", err)
	}
	seam.Go(func() {
		seam.Point()
		unix.Write(p[1], []byte{'x'})
		seam.Point()
	})
	got, err := q.Wait(nil, -1)
	if err != nil || len(got) != 1 || got[0].ID != id || !got[0].Ended {
		fail("Wait for the write: %+v, %v", got, err)
	}
	tid, err := q.After(time.Hour, c)
	if err != nil {
		fail("After: %v", err)
	}
	got, err = q.Wait(nil, -1)
	if err != nil || len(got) != 1 || got[0].ID != tid || got[0].Count != 1 {
		fail("Wait for the timer: %+v, %v", got, err)
	}
	got, err = q.Wait(nil, time.Hour)
	if err != nil || len(got) != 0 {
		fail("Wait with nothing registered: %+v, %v", got, err)
	}
	if _, err := q.Close(); err != nil {
		fail("Close: %v", err)
	}
	return problems
}

// A queue made in a controlled run waits through the seam: a firing, a
// timer an hour away and a timeout of an hour all come at once in real
// time, every goroutine of the run is the run's (none blocks outside the
// seam, no seam call comes from outside), and a schedule run again with
// the same choices takes the same steps. The bugs: a Wait that sleeps in
// epoll_wait or the netpoller (uncontrolled blocking after 2s), timers on
// the real clock (an hour), a kernel goroutine that spins (the step
// limit), and system calls whose results depend on more than the order
// of the steps (another hash).
func TestControlledQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 20*time.Second)
	begin := time.Now()
	for seed := range uint64(20) {
		var problems []string
		sr, err := seam.Run(randomChooser{rand.New(rand.NewPCG(seed, 7))}, func() { problems = controlledRound() }, seam.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sr.Outcome != seam.Finished || sr.Outside != 0 || sr.Leftover != 0 || len(problems) > 0 {
			t.Fatalf("seed %d: %v, %d outside, %d left over: %s\n%s", seed, sr.Outcome, sr.Outside, sr.Leftover, sr.Failure, strings.Join(problems, "\n"))
		}
		again, _ := seam.Run(&replayChooser{picks: sr.Choices}, func() { controlledRound() }, seam.Options{})
		if again.Hash != sr.Hash || again.Outcome != seam.Finished {
			t.Fatalf("seed %d: the same %d choices: hash %#x, then %v %#x", seed, len(sr.Choices), sr.Hash, again.Outcome, again.Hash)
		}
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("40 controlled runs took %v: a wait in real time?", took)
	}
}

// A Wait with no timeout and nothing that can ever fire is a deadlock the
// scheduler reports at once, not a hang and not a spin. The bugs: a Wait
// that sleeps in the kernel (uncontrolled blocking after 2s), a kernel
// goroutine that polls for ever (the step limit).
func TestControlledQueueDeadlock(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 20*time.Second)
	var q *eventq.Queue
	begin := time.Now()
	sr, err := seam.Run(randomChooser{rand.New(rand.NewPCG(1, 7))}, func() {
		q, _ = eventq.New()
		q.Wait(nil, -1)
	}, seam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q != nil {
		q.Close()
	}
	if sr.Outcome != seam.Deadlock || time.Since(begin) > time.Second {
		t.Fatalf("%v after %v: %s", sr.Outcome, time.Since(begin), sr.Failure)
	}
}
