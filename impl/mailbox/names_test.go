package mailbox_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/spec"
)

// TestNames catches a name of package mailbox that is not spec's very value:
// an error made afresh, or aliased to the wrong one, would break
// errors.Is between what the package returns and what its users test for.
func TestNames(t *testing.T) {
	errs := []struct {
		name      string
		got, want error
	}{
		{"ErrNil", mailbox.ErrNil, spec.ErrNil},
		{"ErrUnwritable", mailbox.ErrUnwritable, spec.ErrUnwritable},
		{"ErrUnreadable", mailbox.ErrUnreadable, spec.ErrUnreadable},
		{"ErrInterrupted", mailbox.ErrInterrupted, spec.ErrInterrupted},
	}
	for _, e := range errs {
		if e.got != e.want {
			t.Errorf("%s = %v, want spec.%s", e.name, e.got, e.name)
		}
	}
}

// TestResultAndFlagNames catches a result or flag of package mailbox
// aliased to the wrong one of spec's.
func TestResultAndFlagNames(t *testing.T) {
	results := map[mailbox.Result]spec.Result{
		mailbox.Delivered: spec.Delivered, mailbox.Received: spec.Received,
		mailbox.Full: spec.Full, mailbox.Empty: spec.Empty, mailbox.Paused: spec.Paused,
		mailbox.Unwritable: spec.Unwritable, mailbox.Unreadable: spec.Unreadable, mailbox.Nil: spec.Nil,
	}
	for got, want := range results {
		if got != want {
			t.Errorf("mailbox.%v is spec.%v", want, got)
		}
	}
	flags := map[mailbox.Flags]spec.Flags{
		mailbox.FlagInterrupt: spec.FlagInterrupt, mailbox.FlagPaused: spec.FlagPaused,
		mailbox.FlagEmpty: spec.FlagEmpty, mailbox.FlagFull: spec.FlagFull,
		mailbox.FlagReadable: spec.FlagReadable, mailbox.FlagWritable: spec.FlagWritable,
		mailbox.FlagBounded: spec.FlagBounded,
	}
	for got, want := range flags {
		if got != want {
			t.Errorf("mailbox flag %v is spec's %v", want, got)
		}
	}
}
