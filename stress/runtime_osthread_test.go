package stress

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// tasks returns the thread ids of the process.
func tasks(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids
}

// pollFor calls cond until it holds or limit has passed, and reports
// whether it held.
func pollFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// schedulerThreads is how many threads a round of TestRuntimeOSThreads
// may leave beside those it had: threads the Go scheduler made for
// itself (it makes one when a locked thread blocks holding a processor
// and none is idle, and keeps it for good). The warm-up round makes most
// of them; under load a later round may need a few more (a stress run
// on a machine loaded to 3 saw 3, with the bound at 2). A thread left by
// each runtime would be 50 more; the thread ids above catch that first.
const schedulerThreads = osThreadRuntimes / 5

// Fifty runtimes on OS threads of their own at once, some named, some
// pinned to a CPU; each reports its thread id. Once they are halted and
// joined, every one of those threads must be gone from /proc/self/task,
// and the process must have no more threads than before, give or take
// the few the Go scheduler may make for itself (schedulerThreads).
//
// The bug: two runtimes sharing a thread, or one on the main thread
// (which can never end); a name or a pinning not applied to the runtime's
// own thread; a thread that outlives its runtime (unlocked before the
// goroutine exits, so Go keeps it); a runtime that never reports (a
// thread that never starts) or never dies.
func TestRuntimeOSThreads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := range 1024 {
		if allowed.IsSet(i) {
			cpu = i
			break
		}
	}
	if cpu < 0 {
		t.Fatal("the process may run on no CPU")
	}
	// Round 0 is a warm-up whose thread count is not checked: the Go
	// scheduler makes threads of its own (Ms) as it needs them to hand
	// processors over to the runtimes' locked threads and back, and keeps
	// them for good; the warm-up lets it reach its working set, so that
	// the rounds after it measure what the runtimes leave behind.
	n := 1 + 2*soak(t)
	for round := range n {
		before := len(tasks(t))
		type report struct{ i, tid int }
		reports := make(chan report, osThreadRuntimes)
		rs := make([]*rt.Runtime, osThreadRuntimes)
		names := make([]string, osThreadRuntimes)
		pinned := make([]bool, osThreadRuntimes)
		for i := range rs {
			reported := false
			c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
				if !reported {
					reported = true
					reports <- report{i, unix.Gettid()}
				}
				<-ctx.Done()
				return c.Next()
			})
			opts := []rt.Option{rt.OSThread()}
			if i%3 == 0 {
				names[i] = fmt.Sprintf("io-stress-%d-%d", round, i)
				opts = append(opts, rt.Name(names[i]))
			}
			if i%4 == 1 {
				pinned[i] = true
				opts = append(opts, rt.PinCPU(cpu))
			}
			r, err := rt.Spawn(c, opts...)
			if err != nil {
				for _, r := range rs[:i] {
					r.Halt()
					r.Join()
				}
				t.Fatalf("spawning OS-thread runtime %d: %v", i, err)
			}
			rs[i] = r
		}
		tids := make([]int, len(rs))
		timeout := time.NewTimer(rtDeadLimit)
		for range rs {
			select {
			case rep := <-reports:
				tids[rep.i] = rep.tid
			case <-timeout.C:
				t.Errorf("only some runtimes reported their thread within %v: %v", rtDeadLimit, tids)
			}
			if t.Failed() {
				break
			}
		}
		timeout.Stop()
		seen := map[int]int{}
		for i, tid := range tids {
			if tid == 0 {
				continue
			}
			if j, ok := seen[tid]; ok {
				t.Errorf("runtimes %d and %d both run on thread %d", j, i, tid)
			}
			seen[tid] = i
			if tid == unix.Getpid() {
				t.Errorf("runtime %d runs on the main thread, which can never end", i)
			}
			if names[i] != "" {
				want := names[i][:min(15, len(names[i]))]
				comm, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", tid))
				if got := strings.TrimSpace(string(comm)); err != nil || got != want {
					t.Errorf("runtime %d: thread %d is named %q (%v), want %q", i, tid, got, err, want)
				}
			}
			if pinned[i] {
				var set unix.CPUSet
				if err := unix.SchedGetaffinity(tid, &set); err != nil || set.Count() != 1 || !set.IsSet(cpu) {
					t.Errorf("runtime %d: thread %d has affinity for %d CPUs (%v), want CPU %d alone", i, tid, set.Count(), err, cpu)
				}
			}
		}
		for _, r := range rs {
			r.Halt()
		}
		for i, r := range rs {
			select {
			case <-r.Done():
			case <-time.After(rtDeadLimit):
				t.Fatalf("runtime %d not Dead %v after Halt: %v", i, rtDeadLimit, r.Flags())
			}
			if err := r.Join(); err != nil {
				t.Errorf("runtime %d: Join = %v after Halt, want nil", i, err)
			}
		}
		var left []int
		if !pollFor(rtDeadLimit, func() bool {
			left = left[:0]
			for _, tid := range tids {
				if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); tid != 0 && !os.IsNotExist(err) {
					left = append(left, tid)
				}
			}
			return len(left) == 0
		}) {
			t.Errorf("threads %v outlived their runtimes by %v", left, rtDeadLimit)
		}
		var now int
		if !pollFor(rtDeadLimit, func() bool { now = len(tasks(t)); return round == 0 || now <= before+schedulerThreads }) {
			t.Errorf("%d threads %v after %d OS-thread runtimes were joined, %d before", now, rtDeadLimit, len(rs), before)
		}
		t.Logf("round %d%s: %d OS-thread runtimes (%d named, %d pinned to CPU %d) on %d distinct threads; %d threads before, %d after (chaos %v)",
			round, map[bool]string{true: " (warm-up)", false: ""}[round == 0], len(rs), (len(rs)+2)/3, len(rs)/4, cpu, len(seen), before, len(tasks(t)), chaos.Enabled)
		if t.Failed() {
			return
		}
	}
}
