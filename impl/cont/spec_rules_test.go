package cont_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/testpool"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The error paths of the step forms of ComeFrom and NovelThread
// (spec/continuation.go, the package's doc comment: "Misuse is an error,
// never a hang or a lost continuation"; ErrMove, ErrNoRuntime,
// ErrRemotePanicked). Each case names the bug it catches:
//
//   - NovelThread outside a runtime goes on at once with ErrNoRuntime, its
//     remote part never run. The bug: a call that waits for a remote part
//     it never started (a hang, which Within turns into a failure with the
//     goroutines' stacks), or one that runs the remote part where it is.
//   - ComeFrom to a nil box, or to one closed for writing, goes on at once
//     with an ErrMove wrapping ErrNil or ErrUnwritable, the remote part
//     never run and nothing sent. The bug: the error unwrapped or lost (a
//     caller then waits for ever), or the remote part run anyway.
//   - ComeFrom whose remote part panics resumes the caller with
//     ErrRemotePanicked, and the server's runtime fails with the panic.
//     The bug: a caller left waiting for a result that never comes, or
//     given a zero result as if all went well.
func TestStepFormErrorPaths(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	type result struct {
		v   int
		err error
	}
	ran := false
	remote := func(ctx context.Context) int { ran = true; return 1 }
	t.Run("NovelThread outside a runtime", func(t *testing.T) {
		var got result
		seen := false
		c := cont.New(cont.NovelThread(remote, func(v int, err error) cont.Step {
			got, seen = result{v, err}, true
			return nil
		}))
		testdeadline.Within(t, 5*time.Second, "the step of a NovelThread outside a runtime", func() { c.Step(context.Background()) })
		switch {
		case !seen:
			t.Fatal("NovelThread outside a runtime did not go on at once")
		case !errors.Is(got.err, spec.ErrNoRuntime):
			t.Fatalf("NovelThread outside a runtime: %v, want ErrNoRuntime", got.err)
		case ran:
			t.Fatal("the remote part ran, though no runtime could spawn one for it")
		}
	})

	closed := mailbox.New[cont.C](mailbox.Unbounded)
	closed.CloseWrite()
	for _, c := range []struct {
		name string
		box  *cont.Box
		want error
	}{{"ComeFrom a nil box", nil, mailbox.ErrNil}, {"ComeFrom a box closed for writing", closed, mailbox.ErrUnwritable}} {
		t.Run(c.name, func(t *testing.T) {
			var got result
			seen := false
			k := cont.New(cont.ComeFrom(c.box, remote, func(v int, err error) cont.Step {
				got, seen = result{v, err}, true
				return nil
			}))
			testdeadline.Within(t, 5*time.Second, "the step of "+c.name, func() { k.Step(context.Background()) })
			switch {
			case !seen:
				t.Fatalf("%s did not go on at once", c.name)
			case !errors.Is(got.err, spec.ErrMove) || !errors.Is(got.err, c.want):
				t.Fatalf("%s: %v, want ErrMove wrapping %v", c.name, got.err, c.want)
			case ran:
				t.Fatal("the remote part ran, though it could not be sent")
			}
			if c.box != nil && c.box.Len() != 0 {
				t.Fatalf("a refused ComeFrom left %d continuations in the box", c.box.Len())
			}
		})
	}

	t.Run("ComeFrom whose remote part panics", func(t *testing.T) {
		_, homeBox := testpool.New(t, 1)
		serverBox := mailbox.New[cont.C](mailbox.Unbounded)
		server, err := pool.New(pool.Waiter, serverBox, 1)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan result, 1)
		homeBox.Send(cont.New(cont.ComeFrom(serverBox, func(ctx context.Context) int {
			panic("the remote part's panic")
		}, func(v int, err error) cont.Step {
			done <- result{v, err}
			return nil
		})))
		var got result
		testdeadline.Within(t, 5*time.Second, "the caller of a remote part that panicked", func() { got = <-done })
		if !errors.Is(got.err, spec.ErrRemotePanicked) {
			t.Fatalf("ComeFrom whose remote part panicked: %d %v, want ErrRemotePanicked", got.v, got.err)
		}
		if err := server.Close(); !errors.Is(err, spec.ErrPanicked) {
			t.Fatalf("the server's pool: %v, want its runtime failed with ErrPanicked", err)
		}
	})
}
