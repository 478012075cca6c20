package stress

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The conservation and storm checks must be able to fail. These tests run
// them, small, on known-bad queues (queuetest.BadQueue: mutex-guarded, so
// that only their semantics are wrong and the race detector stays quiet)
// and require each break to be reported as what it is.

// brokenQueues are the known-bad queues of queuetest that the
// conservation and storm checks must catch, each with a phrase the
// problems must contain.
var brokenQueues = []struct {
	name string
	make func() spec.Queue[item]
	want string
}{
	{"lose", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Drops, 997) }, "missing"},
	{"double", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Doubles, 997) }, "more than once"},
	{"lifo", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.LIFO, 1) }, "per-producer FIFO order broken"},
	{"copy", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Copies, 997) }, "not an item that was pushed"},
	{"len", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.LenOff, 1) }, "Len = 1"},
}

func requireCaught(t *testing.T, res result, want string) {
	t.Helper()
	if res.hang != "" {
		t.Fatalf("the run hung instead of reporting the bug:\n%s", res.hang)
	}
	all := strings.Join(res.problems, "\n")
	if !strings.Contains(all, want) {
		t.Fatalf("problems do not mention %q:\n%s", want, all)
	}
	t.Logf("caught:\n%s", all)
}

func TestConservationCatchesBrokenQueues(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := conserve(c.make(), conserveConfig{
				producers: 4, consumers: 4, perProducer: 2000,
				stall: 200 * time.Millisecond, finish: time.Minute,
			})
			requireCaught(t, res, c.want)
		})
	}
}

func TestStormCatchesBrokenQueues(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := storm(c.make(), stormConfig{workers: 8, perWorker: 2000, seed: 1, finish: time.Minute})
			want := c.want
			if c.name == "len" {
				want = "quiescent Len" // the storm checks Len before its drain too
			}
			requireCaught(t, res, want)
		})
	}
}

// The mailbox checks must be able to fail too: the conservation storm and
// the void storm run, small, on the known-bad mailboxes of mailboxtest
// (Broken and BrokenVoid wrap the real ones and break a promise every n-th
// time, their own state guarded, so that the race detector stays quiet)
// and must report each break as what it is.

// senderOf is the sender of a stress item, which mailboxtest.Broken's
// Reorders holds an item back behind.
func senderOf(x *item) int { return x.producer }

func TestConservationCatchesBrokenMailboxes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		name  string
		bug   mailboxtest.Bug
		every int
		want  string // a phrase the problems must contain
	}{
		{"lose", mailboxtest.Loses, 97, "items missing"},
		{"phantom", mailboxtest.Phantom, 97, "reported not delivered, yet received"},
		{"double", mailboxtest.Doubles, 97, "received more than once"},
		{"reorder", mailboxtest.Reorders, 31, "FIFO order broken"},
	} {
		for _, cut := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-cut%v", c.name, cut), func(t *testing.T) {
				b := mailboxtest.Broken(mailbox.New[item](2), c.bug, c.every, senderOf)
				res := mbStorm(b, mbStormConfig{
					senders: 4, receivers: 4, perSender: 3000, capacity: 2, cut: cut, seed: 1,
					stall: 2 * time.Second, finish: time.Minute,
				})
				requireCaught(t, res, c.want)
			})
		}
	}
	// A receiver that never comes back stalls the run: the watchdog must
	// stop it, close the mailbox (which releases the receiver here) and
	// report the stall and the item the receiver dropped, not hang.
	t.Run("stall", func(t *testing.T) {
		// The 300th receipt through Recv or TryRecv stalls: batches and the
		// storm's drains take items without one, and how many they take
		// depends on timing; at 2000 a loaded machine's run could end
		// before any receipt stalled (9 runs in 15 under load at a15846a).
		b := mailboxtest.Broken(mailbox.New[item](2), mailboxtest.Stalls, 300, nil)
		res := mbStorm(b, mbStormConfig{
			senders: 4, receivers: 4, perSender: 3000, capacity: 2, seed: 1,
			stall: 500 * time.Millisecond, finish: time.Minute,
		})
		requireCaught(t, res, "nothing sent or received for")
		requireCaught(t, res, "1 items missing")
	})
}

func TestVoidStormCatchesBrokenVoids(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		name  string
		bug   mailboxtest.Bug
		every int
		want  string
	}{
		{"early-false", mailboxtest.EarlyFalse, 50, "reported false before CloseWrite"},
		{"hide-pause", mailboxtest.HidesPause, 1, "while paused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := mailboxtest.BrokenVoid(mailbox.NewVoid(), c.bug, c.every)
			res := voidStorm(v, voidConfig{waiters: 8, toggles: 50, seed: 1, finish: time.Minute})
			requireCaught(t, res, c.want)
		})
	}
}
