package stress

import (
	"fmt"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The batch accounting of the conservation storm must be able to fail: a
// batch send that reports an item sent that it dropped, a batch receipt
// that takes an item and does not hand it over, or hands its items over
// reversed (mailboxtest.Broken's batch bugs, every 7th batch), must each
// be caught and named.
//
// The bug: a storm that counts a batch as delivered without checking its
// items come out, that trusts TryRecvMany's count without checking every
// item sent turns up, or that does not check the order of the items a
// batch receipt hands over.
func TestConservationCatchesBrokenBatches(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		name string
		bug  mailboxtest.Bug
		want string // a phrase the problems must contain
	}{
		{"send-lose", mailboxtest.BatchLoses, "items missing"},
		{"recv-drop", mailboxtest.BatchDrops, "items missing"},
		{"recv-reverse", mailboxtest.BatchReverses, "FIFO order broken"},
	} {
		for _, capacity := range []int{2, spec.Unbounded} {
			t.Run(fmt.Sprintf("%s-cap%s", c.name, capString(capacity)), func(t *testing.T) {
				b := mailboxtest.Broken(mailbox.New[item](capacity), c.bug, 7, nil)
				res := mbStorm(b, mbStormConfig{
					senders: 4, receivers: 4, perSender: 3000, capacity: capacity, seed: 1,
					stall: 2 * time.Second, finish: time.Minute,
				})
				requireCaught(t, res, c.want)
			})
		}
	}
}
