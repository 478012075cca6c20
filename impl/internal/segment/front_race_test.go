//go:build !sched

package segment

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The program of frontRound (front_sched_test.go), run free and many
// times over: a reclaimer frees the front while a finder that needs it
// looks at it. Built with -race, the detector sees any plain access to
// a freed front's next: the finder reads it when the front it loaded is
// freed and not yet moved past, and the reclaimer clears it once it has
// moved the front, with nothing ordering the two; both must be atomic.
// The window is a few instructions wide, so the finder looks again and
// again while the reclaimer works, and the rounds run for two seconds.
func TestFreedFrontUnderRace(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	d := 200 * time.Millisecond // without the detector, a check of the result only
	if raceEnabled {
		d = 2 * time.Second
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
		l, tail, head := recycling()
		first := tail.Load()
		use(l, tail, 0, fin)
		use(l, tail, 1, fin)
		l.Find(tail, tail.Load(), 3)
		var (
			wg    sync.WaitGroup
			start seam.Bool
			done  seam.Bool
			got   *Segment
		)
		wg.Go(func() {
			for !start.Load() {
				runtime.Gosched()
			}
			l.Find(head, head.Load(), 3)
			done.Store(true)
		})
		wg.Go(func() {
			start.Store(true)
			for again := true; again; { // again and again while the reclaimer works
				again = !done.Load()
				got = l.Find(tail, first, 2)
			}
		})
		wg.Wait()
		if got.ID() != 2 {
			t.Fatalf("position 2's segment came back as segment %d", got.ID())
		}
	}
}
