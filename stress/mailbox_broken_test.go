package stress

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/spec"
)

// brokenBatchMailbox wraps the real mailbox and breaks one promise of the
// batch forms, every every-th batch (stress/selfcheck_test.go does the
// same for the other operations, whose wrappers leave the batch forms
// real).
type brokenBatchMailbox struct {
	*mailbox.Mailbox[item]
	every int64
	bug   string
	n     atomic.Int64
}

func (b *brokenBatchMailbox) strike() bool { return b.n.Add(1)%b.every == 0 }

func (b *brokenBatchMailbox) TrySendMany(vs []*item) (int, spec.Result) {
	if b.bug == "send-lose" && len(vs) >= 2 && b.strike() {
		// Sends all but the last item, and reports the last sent too.
		if n, r := b.Mailbox.TrySendMany(vs[:len(vs)-1]); r != spec.Delivered || n < len(vs)-1 {
			return n, r
		}
		return len(vs), spec.Delivered
	}
	return b.Mailbox.TrySendMany(vs)
}

func (b *brokenBatchMailbox) TryRecvMany(dst []*item) (int, spec.Result) {
	n, r := b.Mailbox.TryRecvMany(dst)
	switch {
	case b.bug == "recv-drop" && n >= 2 && b.strike():
		return n - 1, r // takes n items and hands out n-1
	case b.bug == "recv-reverse" && n >= 2 && b.strike():
		slices.Reverse(dst[:n])
	}
	return n, r
}

// The batch accounting of the conservation storm must be able to fail: a
// batch send that reports an item sent that it dropped, a batch receipt
// that takes an item and does not hand it over, or hands its items over
// reversed, must each be caught and named.
//
// The bug: a storm that counts a batch as delivered without checking its
// items come out, that trusts TryRecvMany's count without checking every
// item sent turns up, or that does not check the order of the items a
// batch receipt hands over.
func TestConservationCatchesBrokenBatches(t *testing.T) {
	for _, c := range []struct {
		bug  string
		want string // a phrase the problems must contain
	}{
		{"send-lose", "items missing"},
		{"recv-drop", "items missing"},
		{"recv-reverse", "FIFO order broken"},
	} {
		for _, capacity := range []int{2, spec.Unbounded} {
			t.Run(fmt.Sprintf("%s-cap%s", c.bug, capString(capacity)), func(t *testing.T) {
				b := &brokenBatchMailbox{Mailbox: mailbox.New[item](capacity), every: 7, bug: c.bug}
				res := mbStorm(b, mbStormConfig{
					senders: 4, receivers: 4, perSender: 3000, capacity: capacity, seed: 1,
					stall: 2 * time.Second, finish: time.Minute,
				})
				requireCaught(t, res, c.want)
			})
		}
	}
}
