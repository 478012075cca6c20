//go:build !sched

package seam_test

import (
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/seam"
)

// Without -tags sched the seam must cost nothing: no scheduler, and no
// allocation in any operation (a hook that did work in ordinary builds
// would tax every queue and mailbox operation).
func TestOrdinaryBuildIsBare(t *testing.T) {
	if seam.Enabled {
		t.Fatal("Enabled without -tags sched")
	}
	if _, err := seam.Run(nil, func() { t.Error("main ran") }, seam.Options{}); !errors.Is(err, seam.ErrDisabled) {
		t.Fatalf("Run: %v, want ErrDisabled", err)
	}
	var x seam.Uint64
	var mu seam.Mutex
	p := seam.MakeParker()
	n := testing.AllocsPerRun(1000, func() {
		x.Add(1)
		x.CompareAndSwap(1, 2)
		mu.Lock()
		mu.Unlock()
		p.Unpark()
		p.Park()
		seam.Point()
	})
	if n != 0 {
		t.Fatalf("%v allocations per run of the seam's operations", n)
	}
}
