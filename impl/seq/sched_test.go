//go:build sched

package seq_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// visitUnderRun runs, as the main function of a controlled run, a
// sequential continuation that visits pools of goroutines and of OS
// threads (through seq's helper goroutine), calls a remote part and
// finishes, then closes the pools. It returns the run's result.
func visitUnderRun(t *testing.T, ch seam.Chooser) seam.Result {
	t.Helper()
	var (
		where []int
		bad   string
	)
	res, err := seam.Run(ch, func() {
		var boxes []*cont.Box
		var pools []*pool.Pool
		for i := range 3 {
			box := mailbox.New[cont.C](mailbox.Unbounded)
			var opts []rt.Option
			if i == 2 {
				opts = append(opts, rt.OSThread())
			}
			p, err := pool.New(pool.Waiter, box, 2, opts...)
			if err != nil {
				bad = err.Error()
				return
			}
			boxes, pools = append(boxes, box), append(pools, p)
		}
		done := make(chan struct{})
		var n seam.Int64
		c := seq.New(func(k *seq.K) {
			defer seam.Close(done)
			n.Add(1)
			for _, i := range []int{1, 2, 0, 2} {
				if err := k.Goto(boxes[i]); err != nil {
					bad = err.Error()
					return
				}
				n.Add(1)
				where = append(where, i)
			}
			v, err := seq.ComeFrom(k, boxes[1], func(k *seq.K) int {
				n.Add(1)
				if err := k.Coop(); err != nil {
					return -1
				}
				return int(n.Add(1))
			})
			if err != nil || v != 7 {
				bad = fmt.Sprintf("comefrom: %d, %v", v, err)
			}
		})
		if err := boxes[0].Send(c); err != nil {
			bad = err.Error()
			return
		}
		seam.Await(done)
		for _, p := range pools {
			if err := p.Close(); err != nil {
				bad = err.Error()
			}
		}
	}, seam.Options{Trace: os.Getenv("SEQ_TRACE") != ""})
	if os.Getenv("SEQ_TRACE") != "" {
		for _, e := range res.Trace {
			fmt.Fprintf(os.Stderr, "g%d %s %s\n", e.G, e.Op, e.At)
		}
		fmt.Fprintln(os.Stderr, "----")
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != seam.Finished || res.Outside != 0 || bad != "" {
		t.Fatalf("%v, %d seam calls outside the run, %q: %s", res.Outcome, res.Outside, bad, res.Failure)
	}
	if len(where) != 4 || where[3] != 2 {
		t.Fatalf("visited %v, want [1 2 0 2]", where)
	}
	return res
}

// A sequential continuation runs under the controlled scheduler: its
// body's seam calls count as its resumer's (no call from outside the run),
// the helper goroutine of an OS-thread runtime is a goroutine of the run
// (no uncontrolled blocking), and the same choices take the same steps.
func TestUnderControlledScheduler(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, s := range []string{"random", "pct:3"} {
		st, _ := schedule.Parse(s)
		for round := range 20 {
			ch := st.Explore(0x5eed, round).Next(nil)
			res := visitUnderRun(t, ch)
			again := visitUnderRun(t, &schedule.Replay{Choices: res.Choices})
			if again.Hash != res.Hash {
				t.Fatalf("%s, round %d: the same %d choices hash to %#x, then %#x", s, round, len(res.Choices), res.Hash, again.Hash)
			}
		}
	}
}

// The main goroutine keeps the process's main thread, so that no
// goroutine of a run lands on it: impl/rt's OS-thread runtimes take
// another path there (lockOffMainThread), which would make a schedule's
// steps depend on which thread ran it.
func init() { runtime.LockOSThread() }
