package mailbox

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// plantHang is set in the environment of the child process that
// TestPlantedHangFailsInSeconds runs: it switches the lost wake-up on for
// the whole of that process.
const plantHang = "INSIDEOUT_PLANT_HANG"

func init() {
	if os.Getenv(plantHang) != "" {
		knownbad.MailboxSleepsUnannounced.Store(true)
	}
}

// A hang fails in seconds (the project's rule: every test has a deadline
// and dumps the goroutines; nothing relies on go test's ten-minute
// timeout). The test runs TestSleeperWokenBySend in a child process with
// a lost wake-up planted (knownbad.MailboxSleepsUnannounced: a sleeper
// that does not announce itself, so that the send does not wake it), and
// a deadline of 500ms for every Guard: its receiver then sleeps for good.
// The child must fail within seconds, naming the test, with every
// goroutine's stack, the sleeper's among them. The bug it catches:
// a test that can wait without a deadline of its own (the child would
// then run to its -test.timeout of 60s and say "test timed out").
func TestPlantedHangFailsInSeconds(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if os.Getenv(plantHang) != "" {
		t.Skip("the child process itself")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSleeperWokenBySend$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), plantHang+"=1", "INSIDEOUT_DEADLINE=500ms")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err == nil {
		t.Fatalf("TestSleeperWokenBySend passed with the lost wake-up planted: the planted hang did not hang\n%s", out)
	}
	if took > 30*time.Second {
		t.Errorf("the planted hang took %v to fail", took)
	}
	for _, want := range []string{"--- FAIL: TestSleeperWokenBySend: testdeadline: still running after 500ms", "goroutine ", "mailbox.(*core).sleep"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("the planted hang failed in %v: %s", took.Round(time.Millisecond), strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
}

// A Recv asleep on an empty mailbox is woken by the send that comes after
// it. The receiver surely sleeps: the send comes 20ms later, long past the
// receipt's bounded spin (TestAll's items may all pass without a sleep,
// which made it a planted hang that did not always hang). It is the
// planted hang's child, and an ordinary test of a wake-up too.
func TestSleeperWokenBySend(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := New[int](1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		x := 1
		m.Send(&x)
	}()
	if v, err := m.Recv(); err != nil || *v != 1 {
		t.Fatalf("Recv = %v, %v", v, err)
	}
}
