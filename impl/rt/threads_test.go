package rt_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"golang.org/x/sys/unix"
)

// threads counts the process's threads.
func threads(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// An OSThread runtime runs on a thread of its own, named and pinned as
// asked, and the thread ends with the runtime: after Join no extra thread
// remains.
func TestOSThread(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	before := threads(t)
	tid := make(chan int, 1)
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		tid <- unix.Gettid()
		<-ctx.Done()
		return nil
	})
	r, err := rt.Spawn(c, rt.OSThread(), rt.Name("io-test-worker-7"), rt.PinCPU(0))
	if err != nil {
		t.Fatal(err)
	}
	id := <-tid
	if id == unix.Getpid() {
		t.Fatal("the runtime runs on the main thread, which can never end")
	}
	comm, err := os.ReadFile("/proc/self/task/" + itoa(id) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "io-test-worker-" {
		t.Fatalf("thread name %q (%v), want the first 15 bytes of the name", comm, err)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(id, &set); err != nil || set.Count() != 1 || !set.IsSet(0) {
		t.Fatalf("thread affinity %v (%v), want CPU 0 alone", set, err)
	}
	r.Halt()
	if err := r.Join(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the runtime's thread to end", func() bool {
		_, err := os.Stat("/proc/self/task/" + itoa(id))
		return os.IsNotExist(err)
	})
	// Many OS-thread runtimes come and go without leaving threads behind
	// (the Go scheduler may keep a thread or two of its own).
	for range 30 {
		r, err := rt.Spawn(finite(3), rt.OSThread())
		if err != nil {
			t.Fatal(err)
		}
		r.Join()
	}
	eventually(t, "the thread count to settle", func() bool { return threads(t) <= before+2 })
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A frozen runtime and a runtime blocked in a mailbox wait use no CPU: a
// busy-waiting freeze would burn a whole core for the second.
func TestIdleRuntimesUseNoCPU(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var n atomic.Int64
	frozen, _ := rt.Spawn(counter(&n), rt.StartFrozen())
	box := mailbox.New[int](1)
	blocked, _ := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		box.RecvContext(ctx)
		return c.Next()
	}))
	time.Sleep(50 * time.Millisecond)
	before := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - before
	frozen.Halt()
	blocked.Halt()
	frozen.Join()
	blocked.Join()
	t.Logf("CPU used in one second by a frozen and a blocked runtime: %v", used)
	if used > 20*time.Millisecond {
		t.Fatalf("idle runtimes used %v of CPU in a second", used)
	}
}

// A nil context is not a context: JoinContext and FromContext panic with a
// message naming the problem, where FromContext used to answer nil (as if
// no runtime ran the step) and JoinContext died of a nil dereference.
func TestNilContextPanics(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"JoinContext": func() { r.JoinContext(nil) },
		"FromContext": func() { rt.FromContext(nil) },
	} {
		func() {
			defer func() {
				if s, _ := recover().(string); !strings.Contains(s, name) || !strings.Contains(s, "nil context") {
					t.Errorf("%s(nil): panic %q, want one naming the call and the nil context", name, s)
				}
			}()
			f()
		}()
	}
	if err := r.Join(); err != nil {
		t.Fatal(err)
	}
}
