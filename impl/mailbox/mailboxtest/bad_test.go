package mailboxtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The bug: a Bug without a name of its own (a constant added without one,
// or two sharing one), which would make the self-checks' reports
// ambiguous.
func TestBugNames(t *testing.T) {
	seen := map[string]mailboxtest.Bug{}
	for b := mailboxtest.Correct; b <= mailboxtest.HidesPause; b++ {
		name := b.String()
		if name == "" || strings.HasPrefix(name, "Bug(") {
			t.Errorf("bug %d has no name: %q", b, name)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("bugs %d and %d are both %q", other, b, name)
		}
		seen[name] = b
	}
	if got := (mailboxtest.HidesPause + 1).String(); got != fmt.Sprintf("Bug(%d)", mailboxtest.HidesPause+1) {
		t.Errorf("the bug after the last is %q", got)
	}
}

// The bug: a constructor that takes a bug it does not have, and so builds
// a mailbox without it, on which a self-check would pass its control
// while claiming to catch the bug. Each constructor must take its own
// bugs and Correct, and panic at any other.
func TestConstructorsTakeTheirOwnBugs(t *testing.T) {
	build := map[string]func(mailboxtest.Bug){
		"Locked": func(b mailboxtest.Bug) { mailboxtest.Locked(1, b) },
		"Broken": func(b mailboxtest.Bug) { mailboxtest.Broken(mailbox.New[int](1), b, 1, nil) },
		"BrokenVoid": func(b mailboxtest.Bug) {
			mailboxtest.BrokenVoid(mailbox.NewVoid(), b, 1)
		},
	}
	owner := func(b mailboxtest.Bug) string {
		switch {
		case b >= mailboxtest.LostWakeup && b <= mailboxtest.InterruptOvercount:
			return "Locked"
		case b >= mailboxtest.Loses && b <= mailboxtest.BatchCopies:
			return "Broken"
		}
		return "BrokenVoid"
	}
	panics := func(f func()) (p bool) {
		defer func() { p = recover() != nil }()
		f()
		return false
	}
	for b := mailboxtest.Correct; b <= mailboxtest.HidesPause; b++ {
		for who, f := range build {
			want := b == mailboxtest.Correct || owner(b) == who
			if got := !panics(func() { f(b) }); got != want {
				t.Errorf("%s(%v): took it %v, want %v", who, b, got, want)
			}
		}
	}
}

// The controls: the real mailbox and void mailbox, wrapped by Broken and
// BrokenVoid with no bug, pass their scenarios, so that a wrapper's
// catches are its bug's doing.
func TestBrokenCorrectPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, capacity := range []int{0, 2} {
		sc := mailboxtest.Scenario("broken-correct", capacity, func(c int) mailboxtest.Mailbox {
			return mailboxtest.Broken(mailbox.New[int](c), mailboxtest.Correct, 1, nil)
		})
		sc.Rounds = 100
		sc.Test(t)
	}
	sc := mailboxtest.VoidScenario("broken-void-correct", func() mailboxtest.Void {
		return mailboxtest.BrokenVoid(mailbox.NewVoid(), mailboxtest.Correct, 1)
	})
	sc.Rounds = 100
	sc.Test(t)
}
