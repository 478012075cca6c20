package chaos_test

import (
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/chaos"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Point and SetSeed are called from every goroutine of a test at once; the
// race detector must find nothing in them, in either build.
func TestConcurrentUse(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				chaos.Point()
				if i%500 == 0 {
					chaos.SetSeed(uint64(g*1000 + i))
				}
			}
		})
	}
	wg.Wait()
}
