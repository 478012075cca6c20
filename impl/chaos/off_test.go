//go:build !chaos

package chaos_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Without -tags chaos the hook must cost nothing: not enabled, and no
// allocation (a hook that did work in ordinary builds would tax every
// queue operation).
func TestOffByDefault(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if chaos.Enabled {
		t.Fatal("chaos is enabled without -tags chaos")
	}
	if n := testing.AllocsPerRun(1000, chaos.Point); n != 0 {
		t.Fatalf("Point allocates %v times per call in an ordinary build", n)
	}
}
