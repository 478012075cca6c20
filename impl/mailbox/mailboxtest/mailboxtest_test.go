package mailboxtest_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The mailbox of impl/mailbox, checked round after round at several
// capacities.
func TestMailboxLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, capacity := range []int{0, 1, 2, spec.Unbounded} {
		sc := mailboxtest.Scenario("mailbox", capacity, mailboxtest.NewMailbox)
		sc.Rounds = 300
		sc.Test(t)
	}
}

// The void mailbox, a gate: waits against pauses, resumes, closes and
// interrupts.
func TestVoidLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := mailboxtest.VoidScenario("void", mailboxtest.NewVoid)
	sc.Rounds = 500
	sc.Test(t)
}
