package cont_test

import (
	"context"
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The rule (spec/continuation.go, NovelThread): the runtime spawned for
// the remote part is joined once remote has finished, and the caller goes
// on with remote's result and any error of that runtime. Here remote
// links its runtime to one that panics and waits until that one is Dead,
// so that its own runtime ends with ErrLinkedFailure however remote
// returns: the caller must see that error, and the runtime Dead. The bug
// it catches: a NovelThread that resumes the caller without joining
// (Call.ToNovel forgetting the join function), which drops the runtime's
// error and leaves it tearing down beside the caller; TestNovelThread
// passes it, and goleak does not see it, since the runtime ends by itself
// soon after.
func TestNovelThreadJoinsBeforeResuming(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var novel *rt.Runtime
	var flags spec.RuntimeFlags
	var got int
	var thenErr, linkErr error
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return cont.NovelThread(func(ctx context.Context) int {
			novel = rt.FromContext(ctx)
			p, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step { panic("the linked runtime fails") }), rt.LinkTo(novel))
			if err != nil {
				linkErr = err
				return 0
			}
			p.Join() // its teardown has given novel its error
			return 1
		}, func(v int, err error) cont.Step {
			got, thenErr = v, err
			flags = novel.Flags()
			return nil
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Join(); err != nil {
		t.Fatal(err)
	}
	if linkErr != nil {
		t.Fatalf("spawning the linked runtime: %v", linkErr)
	}
	if got != 1 || !errors.Is(thenErr, spec.ErrLinkedFailure) {
		t.Fatalf("NovelThread gave %d, %v; want 1 and the novel runtime's error (ErrLinkedFailure): the runtime was not joined", got, thenErr)
	}
	if flags&spec.RtDead == 0 {
		t.Fatalf("the caller resumed while the novel runtime was %v, not yet Dead: it was not joined first", flags)
	}
}
