package cont_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/spec"
)

// TestNames catches a name of package cont that is not spec's very value:
// an error made afresh, or aliased to the wrong one, would break
// errors.Is between what the package returns and what its users test for.
func TestNames(t *testing.T) {
	errs := []struct {
		name      string
		got, want error
	}{
		{"ErrMove", cont.ErrMove, spec.ErrMove},
		{"ErrRemotePanicked", cont.ErrRemotePanicked, spec.ErrRemotePanicked},
		{"ErrNoRuntime", cont.ErrNoRuntime, spec.ErrNoRuntime},
	}
	for _, e := range errs {
		if e.got != e.want {
			t.Errorf("%s = %v, want spec.%s", e.name, e.got, e.name)
		}
	}
}
