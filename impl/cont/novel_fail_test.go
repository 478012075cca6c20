package cont_test

import (
	"context"
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// refusingSpawner is a runtime that cannot spawn: its SpawnNovel fails.
type refusingSpawner struct{ err error }

func (s refusingSpawner) SpawnNovel(*cont.C) (func() error, error) { return nil, s.err }

// A NovelThread whose runtime cannot spawn one (an OS thread refused, a CPU
// that is not there) goes on with the spawn's error at once; it does not
// wait for a remote part that never started. The bug it catches: the
// spawn's error ignored (the mutation runner's survivor
// Call.ToNovel:err-ignored:1), so that the caller waits for ever.
func TestNovelThreadSpawnFailure(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	refused := errors.New("no thread for you")
	ctx := context.WithValue(context.Background(), cont.SpawnerKey{}, cont.Spawner(refusingSpawner{refused}))
	var got error
	ran := false
	c := cont.New(cont.NovelThread(func(context.Context) int { ran = true; return 1 },
		func(v int, err error) cont.Step { got = err; return nil }))
	testdeadline.Within(t, testdeadline.Default/6, "a NovelThread whose spawn failed", func() { c.Run(ctx) })
	if !errors.Is(got, refused) || ran {
		t.Fatalf("NovelThread with a refusing spawner: then got %v (remote ran: %v), want the spawn's error and no remote", got, ran)
	}
}
