package seq_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/spec"
)

// TestNames catches a name of package seq that is not spec's very value:
// an error made afresh, or aliased to the wrong one, would break
// errors.Is between what the package returns and what its users test for.
func TestNames(t *testing.T) {
	errs := []struct {
		name      string
		got, want error
	}{
		{"ErrNotRunning", seq.ErrNotRunning, spec.ErrNotRunning},
		{"ErrResumedTwice", seq.ErrResumedTwice, spec.ErrResumedTwice},
		{"ErrMove", seq.ErrMove, spec.ErrMove},
		{"ErrRemotePanicked", seq.ErrRemotePanicked, spec.ErrRemotePanicked},
		{"ErrNoRuntime", seq.ErrNoRuntime, spec.ErrNoRuntime},
		{"ErrNoQueue", seq.ErrNoQueue, spec.ErrNoQueue},
	}
	for _, e := range errs {
		if e.got != e.want {
			t.Errorf("%s = %v, want spec.%s", e.name, e.got, e.name)
		}
	}
}
