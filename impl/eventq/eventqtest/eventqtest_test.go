package eventqtest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Registrations, cancels, rearms, writes, reads, polls and wakes from
// three clients at once against impl/eventq, with a waiter handing
// firings out, checked per registration against model.EventQ and audited
// at the end. The bug: a firing after a Cancel that reported true, a
// one-shot firing twice, a lent continuation handed out again before
// Rearm, a Cancel or Rearm result that disagrees with the registration,
// ids out of order, a continuation lost or handed back twice by Close, a
// firing lost, an fd left open.
func TestEventQueueLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	eventqtest.Check{Rounds: 300}.Test(t)
}

// The same, with more clients than cores making short programs (the bug:
// a race that needs many calls at once), and one client making a long one
// (the bug: ids, lending and hand-backs that go wrong only over many
// registrations).
func TestEventQueueShapes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	eventqtest.Check{Clients: 6, Ops: 4, Rounds: 100}.Test(t)
	eventqtest.Check{Clients: 1, Ops: 24, Rounds: 100}.Test(t)
}

// The same, with programs drawn and shrunk by rapid: a failure is reported
// as the smallest round rapid finds.
func TestEventQueueRapid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		clients := rapid.IntRange(1, 4).Draw(t, "clients")
		ops := rapid.IntRange(1, 8).Draw(t, "ops")
		r := eventqtest.GenRound(linearize.RapidGen(t).Intn, clients, ops)
		if res := eventqtest.RunRound(r, eventqtest.Options{Deadline: 5 * time.Second}); res.Failed() {
			t.Fatalf("verdict %v, hung %v, panic %q\n%s\n%s", res.Verdict, res.Hung, res.Panic, strings.Join(res.Problems, "\n"), r)
		}
	})
}

// The generator's promises: the sizes asked for, every step's argument in
// range, and one program for one seed and round. The bug: a program that
// cannot replay, or a step out of its table (a panic in the middle of a
// round rather than a verdict).
func TestGenEqRound(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		clients := rapid.IntRange(0, 6).Draw(t, "clients")
		ops := rapid.IntRange(0, 12).Draw(t, "ops")
		r := eventqtest.GenRound(linearize.RapidGen(t).Intn, clients, ops)
		if len(r.Clients) != clients || r.Ops() != clients*ops {
			t.Fatalf("%d clients, %d ops; want %d and %d", len(r.Clients), r.Ops(), clients, clients*ops)
		}
		for _, p := range r.Clients {
			for _, s := range p {
				bad := false
				switch s.Kind {
				case eventqtest.RegisterStep:
					bad = s.Arg < 0 || s.Arg >= len(eventqtest.Targets)
				case eventqtest.AfterStep:
					bad = s.Arg < 0 || s.Arg >= len(eventqtest.AfterDelays)
				case eventqtest.WriteStep:
					bad = eventqtest.Peer(eventqtest.End(s.Arg)) == eventqtest.End(s.Arg)
				case eventqtest.ReadStep:
					bad = s.Arg < 0 || eventqtest.End(s.Arg) >= eventqtest.Ends || eventqtest.End(s.Arg) == eventqtest.Pipe0W || eventqtest.End(s.Arg) == eventqtest.Pipe1W
				}
				if bad || s.Kind >= eventqtest.Kinds {
					t.Fatalf("step %v out of range", s)
				}
			}
		}
	})
	a := eventqtest.GenRound(linearize.NewGen(7, 3).Intn, 3, 8).String()
	if b := eventqtest.GenRound(linearize.NewGen(7, 3).Intn, 3, 8).String(); a != b {
		t.Fatalf("one seed and round, two programs:\n%s\n%s", a, b)
	}
	if c := eventqtest.GenRound(linearize.NewGen(8, 3).Intn, 3, 8).String(); a == c {
		t.Fatalf("two seeds, one program:\n%s", a)
	}
}

// Rounds end with everything released: the process has as many fds open
// after many rounds as before them, the round's own fd check agrees, and
// goleak (TestMain) finds no goroutine left. The bug: a queue, pipe or
// socket of a round left open, a waiter left running.
func TestEventQueueReleasesEverything(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	eventqtest.RunRound(eventqtest.Round{}, eventqtest.Options{}) // warm up
	before := fdCount(t)
	eventqtest.Check{Rounds: 50, NoFDCheck: true}.Test(t)
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds open before 50 rounds, %d after", before, after)
	}
}

func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A failed round is reported with its seed and round, replays from them
// through INSIDEOUT_SEED and INSIDEOUT_ROUND, and unwraps to a
// linearize.Failure. The bug: a failure that cannot be replayed, or that
// `insideout verify` could not report.
func TestEventQueueFailureReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	leak := func() eventqtest.Queue { return leakyQueue{eventqtest.NewQueue()} }
	_, _, err := eventqtest.Check{New: leak, Rounds: 100, Seed: 0x2a, ReportDir: t.TempDir()}.Run(context.Background(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Seed != 0x2a || len(f.Problems) == 0 {
		t.Fatalf("a queue whose Close returns nothing was not reported as a round of seed 0x2a whose audit failed: %v", err)
	}
	round, program := f.Round, f.Program
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("INSIDEOUT_SEED=0x2a INSIDEOUT_ROUND=%d", round), program, "handed back by Close 0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure lacks %q:\n%s", want, msg)
		}
	}
	// Every round replays round's program; which of them fails is the
	// scheduler's choice, and one of 50 does.
	t.Setenv("INSIDEOUT_ROUND", fmt.Sprint(round))
	_, _, err = eventqtest.Check{New: leak, Rounds: 50, Seed: 0x2a, ReportDir: t.TempDir()}.Run(context.Background(), nil)
	if !errors.As(err, &f) || f.Round != round || f.Program != program {
		t.Fatalf("INSIDEOUT_ROUND=%d: %v; want round %d replayed, failing", round, err, round)
	}
}

// leakyQueue is an event queue whose Close hands nothing back: every
// continuation still armed disappears.
type leakyQueue struct{ eventqtest.Queue }

func (q leakyQueue) Close() ([]*cont.C, error) {
	_, err := q.Queue.Close()
	return nil, err
}

// A bug of impl/eventq that the campaign found (a lost firing in a round
// with two exclusive registrations of the socket, while the waiter slept):
// two registrations of one socket, both Read|Exclusive (level), in one
// queue, while a Wait sleeps; data arrives and stays unread. Both
// registrations are armed and their fd is ready, so both must fire
// ("several registrations of one fd each fire on their own", "Level fires
// while the fd is ready"). Each registration is a duplicate of the fd, so
// an entry of its own on the socket's wait queue, and both entries are
// exclusive: while the Wait slept in epoll_wait on the queue's epoll fd,
// the kernel woke the first entry only, and the second never fired,
// however long the data waited, until the next arrival; Edge|Exclusive
// lost its arrival the same way. Fixed when Wait came to park in Go's
// netpoller, never blocking in epoll_wait itself; this keeps it fixed.
func TestEventQueueExclusiveRegistrationsEachFire(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, ev := range []spec.Events{spec.EvRead | spec.EvExclusive, spec.EvRead | spec.EvExclusive | spec.EvEdge} {
		t.Run(ev.String(), func(t *testing.T) {
			q, err := eventq.New()
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(s[0])
			defer unix.Close(s[1])
			want := map[spec.EventID]bool{}
			for range 2 {
				id, err := q.Register(s[0], ev, idle())
				if err != nil {
					t.Fatal(err)
				}
				want[id] = true
			}
			got := make(chan []eventq.Ready, 1)
			go func() {
				ready, _ := q.Wait(nil, -1)
				got <- ready
			}()
			// Let the Wait go to sleep (if it has not yet, both fire, and
			// the test passes without having tested anything).
			time.Sleep(20 * time.Millisecond)
			if _, err := unix.Write(s[1], []byte("x")); err != nil {
				t.Fatal(err)
			}
			fired := <-got
			deadline := time.Now().Add(time.Second)
			for len(fired) < len(want) && time.Now().Before(deadline) {
				more, err := q.Wait(nil, 10*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				fired = append(fired, more...)
			}
			for _, rd := range fired {
				delete(want, rd.ID)
			}
			if len(want) > 0 {
				t.Fatalf("%d firings in a second (%v); registration(s) %v, armed with their socket readable, never fired", len(fired), fired, slices.Collect(maps.Keys(want)))
			}
		})
	}
}

func idle() *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
}

// The checker's time limit reaches the check of every round: with a
// nanosecond, a long history cannot be decided, and the round is Unknown,
// a failure. The bug this catches: an eventq campaign that ignored
// insideout verify's -check-timeout and kept its own ten seconds.
func TestCheckTimeoutReachesTheChecker(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	_, sum, err := eventqtest.Check{Clients: 6, Ops: 30, Rounds: 20, Seed: 0x2a, CheckTimeout: time.Nanosecond,
		ReportDir: t.TempDir()}.Run(context.Background(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Verdict != linearize.Unknown || sum.Unknown == 0 {
		t.Fatalf("a 1ns check timeout: %+v, %v; want a round that is Unknown", sum, err)
	}
}
