package pool_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/spec"
)

// TestNames catches a name of package pool that is not spec's very value:
// an error made afresh, or aliased to the wrong one, would break
// errors.Is between what the package returns and what its users test for.
func TestNames(t *testing.T) {
	errs := []struct {
		name      string
		got, want error
	}{
		{"ErrCanceled", pool.ErrCanceled, spec.ErrCanceled},
		{"ErrPanicked", pool.ErrPanicked, spec.ErrPanicked},
		{"ErrLinkedFailure", pool.ErrLinkedFailure, spec.ErrLinkedFailure},
	}
	for _, e := range errs {
		if e.got != e.want {
			t.Errorf("%s = %v, want spec.%s", e.name, e.got, e.name)
		}
	}
}
