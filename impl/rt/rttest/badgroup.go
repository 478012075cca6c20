package rttest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A LinkBug is one deliberate fault of a known-bad group of runtimes
// (BadGroup): impl/rt runtimes whose links or signals break one promise
// of spec.Runtime. The links scenario (GroupScenario, run by `insideout
// verify`, this package's tests and rapid) must catch each.
type LinkBug uint8

const (
	// LinksCorrect is no bug: NewGroup's runtimes, the control.
	LinksCorrect LinkBug = iota
	// LinkDeaf makes Link report success and link nothing, so that a
	// teardown halts no peer. The history is Illegal: the peer is still
	// running once the teardown is over (its Join returned, its Dead on).
	LinkDeaf
	// UnlinkIgnored makes Unlink do nothing, so that a teardown still
	// halts the runtime unlinked from it. The history is Illegal: Halted
	// on a runtime nothing halted.
	UnlinkIgnored
	// LinkedErrorLost links runtimes whose teardown halts their peers
	// without passing a failure on: a peer of a canceled runtime joins
	// with no error (as the Nim original's links do). The history is
	// Illegal: Join nil where the model wants ErrLinkedFailure.
	LinkedErrorLost
	// SignalIgnored makes Signal do nothing for SIGTERM, as a runtime that
	// knew SIGQUIT's default action and not SIGTERM's would. The history
	// is Illegal: running after the signal that halts it.
	SignalIgnored
	// HalterStopNoWait puts runtimes under a halter whose Stop does not
	// wait for a halt in flight: it reports false, and the halt lands
	// after it. The history is Illegal: Halted on (or a Halt refused) on a
	// runtime that nothing reported halting.
	HalterStopNoWait
	// HalterTrusting puts runtimes under a halter that reports it halted
	// the runtime whenever its timeout came first, without asking whether
	// its Halt took effect. The history is Illegal: a halter's halt of a
	// runtime already halted.
	HalterTrusting
	linkBugs
)

var linkBugNames = [linkBugs]string{"links-correct", "link-deaf", "unlink-ignored", "linked-error-lost", "signal-ignored",
	"halter-stop-no-wait", "halter-trusting"}

func (b LinkBug) String() string {
	if b < linkBugs {
		return linkBugNames[b]
	}
	return fmt.Sprintf("LinkBug(%d)", b)
}

// BadGroup returns a fresh group of runtimes with bug.
func BadGroup(bug LinkBug) Group {
	if bug >= linkBugs {
		panic(fmt.Sprintf("rttest: BadGroup(%v): no such bug", bug))
	}
	g := NewGroup().(*rtGroup)
	if bug == LinksCorrect {
		return g
	}
	return &badGroup{rtGroup: g, bug: bug}
}

// badGroup is NewGroup's group with one promise broken.
type badGroup struct {
	*rtGroup
	bug LinkBug
}

func (g *badGroup) Link(i, j int) error {
	if g.bug == LinkDeaf && i != j {
		return nil // the bug: nothing linked
	}
	return g.rtGroup.Link(i, j)
}

func (g *badGroup) Unlink(i, j int) {
	if g.bug == UnlinkIgnored {
		return // the bug
	}
	g.rtGroup.Unlink(i, j)
}

func (g *badGroup) Signal(i int, sig os.Signal) {
	if g.bug == SignalIgnored && sig == syscall.SIGTERM {
		return // the bug
	}
	g.rtGroup.Signal(i, sig)
}

func (g *badGroup) Halter(i int, d time.Duration) bool {
	r := g.rtGroup[i].Runtime
	switch g.bug {
	case HalterStopNoWait:
		// The bug: the timeout's halt runs on, unwaited for (it ends
		// within d), and Stop reports the halter spared the runtime.
		seam.Go(func() {
			seam.Sleep(d)
			r.Halt()
		})
		return false
	case HalterTrusting:
		seam.Sleep(d)
		r.Halt()
		return true // the bug: Halt's answer not asked
	}
	return g.rtGroup.Halter(i, d)
}

func (g *badGroup) At(i int) Counted {
	if g.bug == LinkedErrorLost {
		return lostLinkedError{g.rtGroup[i]}
	}
	return g.rtGroup[i]
}

// lostLinkedError is a runtime of LinkedErrorLost: its Join reports a
// linked failure as no error at all.
type lostLinkedError struct{ countedRuntime }

func (r lostLinkedError) Join() error {
	err := r.countedRuntime.Join()
	if isLinked(err) {
		return nil // the bug
	}
	return err
}

// isLinked reports whether err is a linked failure.
func isLinked(err error) bool { return errors.Is(err, spec.ErrLinkedFailure) }
