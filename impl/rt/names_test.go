package rt_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"
)

// TestNames catches a name of package rt that is not spec's very value:
// an error made afresh, or aliased to the wrong one, would break
// errors.Is between what the package returns and what its users test for.
func TestNames(t *testing.T) {
	errs := []struct {
		name      string
		got, want error
	}{
		{"ErrNilContinuation", rt.ErrNilContinuation, spec.ErrNilContinuation},
		{"ErrCanceled", rt.ErrCanceled, spec.ErrCanceled},
		{"ErrPanicked", rt.ErrPanicked, spec.ErrPanicked},
		{"ErrLinkedFailure", rt.ErrLinkedFailure, spec.ErrLinkedFailure},
		{"ErrSelfLink", rt.ErrSelfLink, spec.ErrSelfLink},
		{"ErrTornDown", rt.ErrTornDown, spec.ErrTornDown},
		{"ErrNoContinuation", rt.ErrNoContinuation, spec.ErrNoContinuation},
		{"ErrNoQueue", rt.ErrNoQueue, spec.ErrNoQueue},
	}
	for _, e := range errs {
		if e.got != e.want {
			t.Errorf("%s = %v, want spec.%s", e.name, e.got, e.name)
		}
	}
}

// TestFlagNames catches a flag of package rt aliased to the wrong one of
// spec's.
func TestFlagNames(t *testing.T) {
	flags := [][2]rt.Flags{
		{rt.FlagRunning, spec.RtRunning}, {rt.FlagBoot, spec.RtBoot}, {rt.FlagFrozen, spec.RtFrozen},
		{rt.FlagLinked, spec.RtLinked}, {rt.FlagHalted, spec.RtHalted}, {rt.FlagTeardown, spec.RtTeardown},
		{rt.FlagDead, spec.RtDead}, {rt.FlagPolling, spec.RtPolling}, {rt.FlagCancels, spec.RtCancels},
	}
	for _, f := range flags {
		if f[0] != f[1] {
			t.Errorf("rt flag %v is spec's %v", f[1], f[0])
		}
	}
}
